/* The small helps of the mediation pages: a person chosen from the registry fills the party's name and link;
   "Lead" in the suggestions chooses that mediator (and their committee) in the assignment form. */
(function () {
  "use strict";

  function fieldsOf(prefix) {
    const named = (name) => document.querySelector(`[name="${prefix}-${name}"]`) || document.querySelector(`[name="${name}"]`);
    return { person: named("person"), name: named("name") };
  }

  document.addEventListener("click", (event) => {
    const pick = event.target.closest(".md-pick");
    if (pick) {
      const target = pick.dataset.target;
      const f = fieldsOf(target);
      if (f.person) f.person.value = pick.dataset.person;
      if (f.name && !f.name.value) f.name.value = pick.dataset.name;
      const box = document.querySelector(`[data-lookup="${target}"]`);
      if (box) {
        box.querySelector(".md-linked").hidden = false;
        box.querySelector(".md-hits").replaceChildren();
      }
      return;
    }
    const unlink = event.target.closest("[data-unlink]");
    if (unlink) {
      const f = fieldsOf(unlink.dataset.unlink);
      if (f.person) f.person.value = "";
      unlink.closest(".md-linked").hidden = true;
      return;
    }
    const lead = event.target.closest("[data-lead]");
    if (lead) {
      const form = document.getElementById("assign-form");
      if (!form) return;
      const details = form.closest("details");
      if (details) details.open = true;
      form.querySelector('[name="committee"]').value = lead.dataset.committee;
      form.querySelector('[name="lead"]').value = lead.dataset.lead;
      form.querySelector('[name="lead"]').focus();
    }
  });

  // Enter in a registry search box searches; it does not send the form around it.
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.closest(".md-lookup input")) event.preventDefault();
  });
})();
