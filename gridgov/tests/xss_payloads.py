"""About a hundred cross-site scripting payloads for test_xss_browser.py: the classic ones (script tags,
event handlers on img/svg/iframe/…, javascript: and data: URLs, attribute breakouts with either quote,
`</textarea>`/`</title>`/`</script>` breakouts), template injection for the libraries the pages use (Alpine's
x-data/x-init/x-html, htmx's hx-on/hx-vals, `{{…}}`, `${…}`), encoding tricks (entities, URL and JS escapes,
full-width brackets, base64, unicode line separators, bidi overrides), CSS (url(javascript:), expression())
and the well-known polyglots; plus spreadsheet formulas for the Excel export.

Each payload is written so that if it ever runs it calls `window.__xss(n)` (`parent.__xss(n)` from a frame)
with its own number, and each stored text carries a visible tag `XSSnnn` (at the start; at the end for the
formulas, which must start the cell to be dangerous) so a test can find it on a page and in a sheet."""

from __future__ import annotations

import base64
from dataclasses import dataclass

# N is replaced by the payload's number.
TEMPLATES: tuple[str, ...] = (
    # script tags
    "<script>__xss(N)</script>",
    "<SCRIPT>__xss(N)</SCRIPT>",
    "<script src=data:text/javascript,__xss(N)></script>",
    "<scr<script>ipt>__xss(N)</scr</script>ipt>",
    "<<script>script>__xss(N)<</script>/script>",
    "<script>/*</script><script>*/__xss(N)</script>",
    # event handlers
    "<img src=x onerror=__xss(N)>",
    '<img src="x" onerror="__xss(N)">',
    "<IMG SRC=x OnErRoR=__xss(N)>",
    "<img src=x onerror=&#95;&#95;xss(N)>",
    "<img\tsrc=x\tonerror=__xss(N)>",
    "<img src=x:x onerror=__xss(N)>",
    "<img src=x onerror=__xss(N)",
    '<img """><script>__xss(N)</script>">',
    "<svg onload=__xss(N)>",
    "<svg/onload=__xss(N)>",
    "<svg><script>__xss(N)</script></svg>",
    "<svg><animate onbegin=__xss(N) attributeName=x dur=1s>",
    "<svg><a xlink:href=javascript:__xss(N)><text x=20 y=20>XSS</text></a></svg>",
    "<body onload=__xss(N)>",
    "<details open ontoggle=__xss(N)>",
    "<video><source onerror=__xss(N)></video>",
    "<audio src=x onerror=__xss(N)>",
    "<input autofocus onfocus=__xss(N)>",
    "<select autofocus onfocus=__xss(N)></select>",
    "<textarea autofocus onfocus=__xss(N)></textarea>",
    "<marquee onstart=__xss(N)>XSS</marquee>",
    "<div onpointerover=__xss(N) style=position:fixed;inset:0>XSS</div>",
    "<img src=x onerror=eval(atob('B64'))>",
    "<img src=x onerror=\\u005f\\u005fxss(N)>",
    "<img src=x onerror=window['__x'+'ss'](N)>",
    "<img src=x onerror=top[String.fromCharCode(95,95,120,115,115)](N)>",
    "<img src=x onerror=setTimeout('__xss(N)')>",
    # frames, objects, links
    '<iframe src="javascript:parent.__xss(N)"></iframe>',
    '<iframe srcdoc="<script>parent.__xss(N)</script>"></iframe>',
    '<iframe srcdoc="&lt;img src=x onerror=parent.__xss(N)&gt;"></iframe>',
    '<object data="javascript:__xss(N)"></object>',
    '<embed src="javascript:__xss(N)">',
    '<a href="javascript:__xss(N)">XSS</a>',
    '<a href="&#106;avascript:__xss(N)">XSS</a>',
    '<a href="javas&#99;ript:__xss(N)">XSS</a>',
    '<form><button formaction="javascript:__xss(N)">XSS</button></form>',
    '<base href="javascript:__xss(N)//">',
    '<link rel=stylesheet href="javascript:__xss(N)">',
    '<meta http-equiv="refresh" content="0;url=javascript:__xss(N)">',
    "javascript:__xss(N)",
    "JaVaScRiPt:__xss(N)",
    "java\tscript:__xss(N)",
    "data:text/html,<script>parent.__xss(N)</script>",
    # attribute breakouts
    '"><script>__xss(N)</script>',
    "'><script>__xss(N)</script>",
    '"><img src=x onerror=__xss(N)>',
    "'><img src=x onerror=__xss(N)>",
    '" onmouseover="__xss(N)" x="',
    "' onmouseover='__xss(N)' x='",
    '" autofocus onfocus="__xss(N)" x="',
    "' autofocus onfocus='__xss(N)' x='",
    '"><svg onload=__xss(N)>',
    "` onmouseover=__xss(N) x=`",
    # element breakouts
    "</textarea><script>__xss(N)</script>",
    "</textarea><img src=x onerror=__xss(N)>",
    "</title><script>__xss(N)</script>",
    "</title><img src=x onerror=__xss(N)>",
    "</script><script>__xss(N)</script>",
    "</script><img src=x onerror=__xss(N)>",
    "</style><img src=x onerror=__xss(N)>",
    "</noscript><img src=x onerror=__xss(N)>",
    "</option></select><img src=x onerror=__xss(N)>",
    "--><img src=x onerror=__xss(N)>",
    "]]><img src=x onerror=__xss(N)>",
    '<noscript><p title="</noscript><img src=x onerror=__xss(N)>">',
    "<math><mtext><table><mglyph><style><img src=x onerror=__xss(N)>",
    "<svg><style><img src=x onerror=__xss(N)></style></svg>",
    # template injection (Alpine, htmx, the usual server- and client-side engines)
    "{{constructor.constructor('__xss(N)')()}}",
    "{{__xss(N)}}",
    "${__xss(N)}",
    "#{__xss(N)}",
    "<%= __xss(N) %>",
    "[[${__xss(N)}]]",
    '<div x-data x-init="__xss(N)"></div>',
    '<div x-data="{a: __xss(N)}"></div>',
    "<span x-data x-html=\"'<img src=x onerror=__xss(N)>'\"></span>",
    '<div hx-get="javascript:__xss(N)" hx-trigger="load"></div>',
    '<div hx-on::load="__xss(N)">XSS</div>',
    '<div hx-trigger="load" hx-get="/" hx-vals="js:{a: __xss(N)}"></div>',
    # CSS
    '<div style="background:url(javascript:__xss(N))">XSS</div>',
    '<div style="width:expression(__xss(N))">XSS</div>',
    "<style>*{x:expression(__xss(N))}</style>",
    "<style>@import 'javascript:__xss(N)';</style>",
    # encodings
    "＜script＞__xss(N)＜/script＞",
    "%3Cscript%3E__xss(N)%3C/script%3E",
    "&lt;script&gt;__xss(N)&lt;/script&gt;",
    "&#60;script&#62;__xss(N)&#60;/script&#62;",
    "\\u003cscript\\u003e__xss(N)\\u003c/script\\u003e",
    "\\x3cscript\\x3e__xss(N)\\x3c/script\\x3e",
    "\u2028__xss(N)\u2029",
    "\u202e<img src=x onerror=__xss(N)>",
    # JavaScript string breakouts (data in a script block)
    '";__xss(N);//',
    "';__xss(N);//",
    '"+__xss(N)+"',
    "</script><script>__xss(N)//",
    # polyglots
    "jaVasCript:/*-/*`/*\\`/*'/*\"/**/(/* */oNcliCk=__xss(N) )//%0D%0A%0d%0a//</stYle/</titLe/</teXtarEa/"
    "</scRipt/--!>\\x3csVg/<sVg/oNloAd=__xss(N)//>\\x3e",
    "'\"--></style></script><svg onload=__xss(N)>",
    "\"'><svg/onload=__xss(N)><!--",
    "</script>'\"><img src=x onerror=__xss(N)>{{__xss(N)}}${__xss(N)}",
)
# Spreadsheet formula injection (the tag goes after them: a formula must start the cell).
FORMULAS: tuple[str, ...] = (
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(1,1)",
    '=HYPERLINK("javascript:__xss(N)","XSS")',
    "=cmd|' /C calc'!A0",
    "\t=1+1",
)


@dataclass(frozen=True)
class Payload:
    n: int
    code: str  # what would run
    formula: bool = False

    @property
    def tag(self) -> str:
        return f"XSS{self.n:03d}"

    @property
    def text(self) -> str:
        """What is stored: the payload with its tag, where a person (and the test) can see it."""
        return f"{self.code} {self.tag}" if self.formula else f"{self.tag} {self.code}"


def _build() -> list[Payload]:
    out: list[Payload] = []
    for template in TEMPLATES + FORMULAS:
        n = len(out) + 1
        code = template.replace("B64", base64.b64encode(f"__xss({n})".encode()).decode())
        out.append(Payload(n, code.replace("(N)", f"({n})"), formula=template in FORMULAS))
    return out


PAYLOADS: list[Payload] = _build()
BY_TAG = {p.tag: p for p in PAYLOADS}


def fitting(limit: int, *, no_slash: bool = False) -> list[Payload]:
    """The payloads whose stored text fits a field of `limit` characters (file names: no '/', which ends a
    path and would cut the name)."""
    return [p for p in PAYLOADS if len(p.text) <= limit and not (no_slash and "/" in p.text)]


def spread(field_index: int, pool: list[Payload], count: int = 10) -> list[Payload]:
    """`count` payloads of `pool` for the field numbered `field_index`: the fields take turns through the
    pool, so that together they store every payload that fits them."""
    start = (field_index * count) % len(pool)
    return [pool[(start + i) % len(pool)] for i in range(count)]
