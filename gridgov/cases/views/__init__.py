"""The workbench's case pages (htmx, server-rendered): `lists` (home, case list, export, inbox), `detail` (the
case page and its action forms), `desk` (operators' intake, batch dispatch, merge; the subtree overview).
No business logic: they parse, call `cases.services` / `cases.selectors`, and render."""
