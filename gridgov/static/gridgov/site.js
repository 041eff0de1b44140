// A form posted twice (an impatient double click, a tap repeated on a slow network) would record its step
// twice: once a page's form is submitted, a second submit of it is ignored until the page answers. htmx's own
// requests (hx-post…) are left to htmx. The buttons come back after a while, in case the answer was a
// download that leaves the page where it is, and when the browser shows the page again from its cache.
(() => {
  const AGAIN_AFTER_MS = 4000;
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post") return;
    if (event.defaultPrevented || form.matches("[hx-post],[hx-put],[hx-patch],[hx-delete]")) return;
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    form.setAttribute("aria-busy", "true");
    window.setTimeout(() => {
      delete form.dataset.sent;
      form.removeAttribute("aria-busy");
    }, AGAIN_AFTER_MS);
  });
  window.addEventListener("pageshow", () => {
    document.querySelectorAll("form[data-sent]").forEach((form) => {
      delete form.dataset.sent;
      form.removeAttribute("aria-busy");
    });
  });
})();
