; Rust items indexed by the generator. One pattern per kind: @definition.<kind> spans the
; item, @name (when present) names it. Doc comments and attributes are attached in Python.
(use_declaration) @definition.use
(function_item name: (identifier) @name) @definition.fn
(function_signature_item name: (identifier) @name) @definition.fn
(struct_item name: (type_identifier) @name) @definition.struct
(enum_item name: (type_identifier) @name) @definition.enum
(union_item name: (type_identifier) @name) @definition.union
(trait_item name: (type_identifier) @name) @definition.trait
(impl_item) @definition.impl
(const_item name: (identifier) @name) @definition.const
(static_item name: (identifier) @name) @definition.static
(type_item name: (type_identifier) @name) @definition.type
(macro_definition name: (identifier) @name) @definition.macro
(mod_item name: (identifier) @name) @definition.mod
