"""Hostile record content: each payload would set a window.__pwned_* global if it ever ran."""

from conftest import RETRY, THINK, record, source_lines

LONG = "A" * 20000
PAYLOADS = {
    "script": "<script>window.__pwned_script = 1</script>",
    "img": '<img src="x" onerror="window.__pwned_img = 1">',
    "iframe": '<iframe src="javascript:parent.__pwned_iframe = 1"></iframe>',
    "svg": '<svg onload="window.__pwned_svg = 1"></svg>',
    "style": "<style>body { display: none !important }</style>",
    "js-link": "[click me](javascript:window.__pwned_mdlink=1)",
    "a-js": '<a href="javascript:window.__pwned_a=1" id="evil-link">evil</a>',
    "comment": "before <!-- never closed",
    "heading": '# Not A Heading\n\n!!! danger "Not an admonition"\n    body',
    "table": "| not | a |\n| --- | --- |\n| table | row |",
    "fence": "````rust\n```\nfn fenced() {}\n```\n````",
    "pre": '</code></pre><b id="escaped-bold">bold</b>',
    "jinja": "{{ 7*7 }} {% raw %} {{ config }} {% endraw %}",
    "dollar": "${window.__pwned_tpl = 1} `${7*7}`",
    "think": "a </think> tag in the request",
    "rtl": "abc\u202edcba\u202c end",
    "zw": "zero\u200bwidth\u200djoin",
    "nul": "nul\u0000byte",
    "long": LONG,
    "slots": "@@PAGE_BODY@@ @@PAGE_TITLE@@ @@PAGE_H1@@",
}


def hostile_records() -> list[tuple[str, dict]]:
    out = []
    code = source_lines(RETRY, 5, 21)
    for name, payload in PAYLOADS.items():
        out.append((name, record(f"Request with {name}: {payload}", f"{THINK}\n{payload}", code)))
    # payloads inside the code block itself (not found in the source, shown as text all the same)
    out.append(
        (
            "code",
            record(
                "Code payloads",
                THINK,
                "fn x() {}\n// <script>window.__pwned_code = 1</script>\n// </think> {{ 7*7 }} \u202e",
            ),
        )
    )
    return out
