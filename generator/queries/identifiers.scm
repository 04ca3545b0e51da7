; Every name a source file mentions: used to tell a real identifier from a hallucinated one.
(identifier) @id
(type_identifier) @id
(field_identifier) @id
