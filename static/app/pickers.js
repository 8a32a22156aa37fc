// Searchable pickers of the record forms (templates/crm/_picker.html and _tag_picker.html):
// comboboxes whose listbox options come over HTMX from crm/picker_views.py. Arrows move,
// Enter picks, Escape closes. Without this script the forms keep their plain <select> and
// comma-separated text box, which post the same names and values.
(function () {
  "use strict";

  const RELATION = "[data-picker-input]";
  const TAGS = "[data-tag-input]";

  // --- The listbox both pickers share ---------------------------------------------------
  const listboxOf = (input) => document.getElementById(input.getAttribute("aria-controls"));
  const optionsOf = (listbox) => Array.from(listbox.querySelectorAll('[role="option"]'));
  const activeOf = (listbox) => listbox.querySelector('[role="option"][aria-selected="true"]');
  const isOpen = (listbox) => !listbox.hidden;

  function setActive(input, listbox, option) {
    optionsOf(listbox).forEach((el) => el.setAttribute("aria-selected", String(el === option)));
    if (option) {
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function openList(input, listbox) {
    listbox.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function closeList(input, listbox) {
    setActive(input, listbox, null);
    listbox.hidden = true;
    input.setAttribute("aria-expanded", "false");
  }

  function move(input, listbox, step) {
    const all = optionsOf(listbox);
    if (!all.length) {
      window.htmx.trigger(input, "focus"); // nothing loaded yet: ask for the options
      return;
    }
    openList(input, listbox);
    const current = all.indexOf(activeOf(listbox));
    const next = current === -1 ? (step > 0 ? 0 : all.length - 1) : (current + step + all.length) % all.length;
    setActive(input, listbox, all[next]);
  }

  // --- Relation pickers: a hidden input posts the chosen id -----------------------------
  function relation(input) {
    const root = input.closest("[data-picker]");
    return {
      input,
      listbox: listboxOf(input),
      value: root.querySelector("[data-picker-value]"),
      clear: root.querySelector("[data-picker-clear]"),
    };
  }

  function choose(picker, value, label) {
    const changed = picker.value.value !== value;
    picker.value.value = value;
    picker.input.value = label;
    picker.input.dataset.chosenLabel = label;
    picker.clear.hidden = !value;
    closeList(picker.input, picker.listbox);
    if (changed) picker.value.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // The text box always ends up showing the chosen record: emptied, it clears the choice.
  function settle(picker) {
    if (picker.input.value.trim() === "") choose(picker, "", "");
    else picker.input.value = picker.input.dataset.chosenLabel || "";
    closeList(picker.input, picker.listbox);
  }

  function relationKey(event, picker) {
    const { input, listbox } = picker;
    if (event.key === "Enter" && isOpen(listbox)) {
      // Enter picks the highlighted option, or the first one when the person has typed;
      // an untouched box lets Enter submit the form as usual.
      const typed = input.value !== (input.dataset.chosenLabel || "");
      const option = activeOf(listbox) || (typed ? optionsOf(listbox)[0] : null);
      if (option) {
        event.preventDefault();
        choose(picker, option.dataset.value, option.dataset.label);
      } else {
        closeList(input, listbox);
      }
    } else if (event.key === "Escape" && isOpen(listbox)) {
      event.preventDefault();
      event.stopPropagation(); // closes the list, not the inline edit around it
      input.value = input.dataset.chosenLabel || "";
      closeList(input, listbox);
    }
  }

  // --- Tag pickers: chips kept in step with the comma-separated (now hidden) input -------
  function tagPicker(input) {
    const root = input.closest("[data-tag-picker]");
    return {
      input,
      listbox: listboxOf(input),
      value: root.querySelector("[data-tag-value]"),
      chips: root.querySelector("[data-tag-chips]"),
    };
  }

  const tagsOf = (picker) => Array.from(picker.chips.children).map((chip) => chip.dataset.tag);

  function addChip(picker, tag) {
    const chip = document.createElement("li");
    chip.className = "chip";
    chip.dataset.tag = tag;
    const text = document.createElement("span");
    text.textContent = tag;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "chip-remove";
    remove.dataset.tagRemove = "";
    remove.setAttribute("aria-label", `Remove ${tag}`);
    remove.textContent = "×";
    chip.append(text, remove);
    picker.chips.append(chip);
  }

  function addTag(picker, text) {
    const tag = text.replace(/,/g, " ").trim(); // a comma never belongs to a tag
    picker.input.value = "";
    closeList(picker.input, picker.listbox);
    if (!tag || tagsOf(picker).some((t) => t.toLowerCase() === tag.toLowerCase())) return;
    addChip(picker, tag);
    picker.value.value = tagsOf(picker).join(", ");
  }

  function removeChip(picker, chip) {
    chip.remove();
    picker.value.value = tagsOf(picker).join(", ");
  }

  function tagKey(event, picker) {
    const { input, listbox } = picker;
    const active = isOpen(listbox) ? activeOf(listbox) : null;
    if ((event.key === "Enter" && (active || input.value.trim())) || event.key === ",") {
      event.preventDefault();
      addTag(picker, active ? active.dataset.value : input.value);
    } else if (event.key === "Backspace" && input.value === "" && picker.chips.lastElementChild) {
      event.preventDefault();
      removeChip(picker, picker.chips.lastElementChild);
    } else if (event.key === "Escape" && isOpen(listbox)) {
      event.preventDefault();
      event.stopPropagation();
      closeList(input, listbox);
    }
  }

  // --- Events ----------------------------------------------------------------------------
  // Capture: runs before the inline edit's Escape and the form's Enter handlers.
  document.addEventListener("keydown", (event) => {
    const input = event.target;
    if (!input.matches || !input.matches(`${RELATION}, ${TAGS}`)) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      move(input, listboxOf(input), event.key === "ArrowDown" ? 1 : -1);
    } else if (input.matches(RELATION)) {
      relationKey(event, relation(input));
    } else {
      tagKey(event, tagPicker(input));
    }
  }, true);

  document.addEventListener("focusout", (event) => {
    const input = event.target;
    if (!input.matches || !input.matches(`${RELATION}, ${TAGS}`)) return;
    if (input.matches(RELATION)) settle(relation(input));
    else closeList(input, listboxOf(input));
  });

  // A click on an option must not blur the input before it counts.
  document.addEventListener("mousedown", (event) => {
    if (event.target.closest(".picker-listbox")) event.preventDefault();
  });

  document.addEventListener("click", (event) => {
    const option = event.target.closest('.picker-listbox [role="option"]');
    if (option) {
      const input = document.querySelector(`[aria-controls="${option.parentElement.id}"]`);
      if (input.matches(RELATION)) choose(relation(input), option.dataset.value, option.dataset.label);
      else addTag(tagPicker(input), option.dataset.value);
      input.focus();
      return;
    }
    const clear = event.target.closest("[data-picker-clear]");
    if (clear) {
      const input = clear.closest("[data-picker]").querySelector(RELATION);
      choose(relation(input), "", "");
      input.focus();
      return;
    }
    const remove = event.target.closest("[data-tag-remove]");
    const box = event.target.closest("[data-tag-box]");
    if (remove) removeChip(tagPicker(box.querySelector(TAGS)), remove.closest(".chip"));
    if (box) box.querySelector(TAGS).focus();
  });

  // What the search endpoint needs: the words typed (none while the box shows the current
  // choice, so focusing it lists everything) and the company the form has chosen.
  document.addEventListener("htmx:configRequest", (event) => {
    const input = event.detail.elt;
    if (!input.matches || !input.matches(`${RELATION}, ${TAGS}`)) return;
    const data = event.detail.formData;
    for (const key of Array.from(data.keys())) data.delete(key);
    if (input.matches(TAGS)) {
      data.set("q", input.value);
      data.set("chosen", tagsOf(tagPicker(input)).join(","));
      return;
    }
    data.set("q", input.value === (input.dataset.chosenLabel || "") ? "" : input.value);
    const nearField = input.dataset.pickerNearField;
    const near = nearField && input.form && input.form.querySelector(`[name="${nearField}"]:not([disabled])`);
    const company = near ? near.value : input.dataset.pickerCompany || "";
    if (company) data.set("company", company);
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    const listbox = event.detail.target;
    if (!listbox.matches(".picker-listbox")) return;
    optionsOf(listbox).forEach((option, i) => { option.id = `${listbox.id}-${i}`; });
    const input = document.querySelector(`[aria-controls="${listbox.id}"]`);
    if (document.activeElement === input) openList(input, listbox); // not after the person left
    setActive(input, listbox, null);
    // Screen readers hear how many options arrived (the listbox itself is silent until entered).
    const status = listbox.parentElement.querySelector("[data-picker-status]");
    const count = optionsOf(listbox).length;
    if (status) status.textContent = count ? `${count} ${count === 1 ? "option" : "options"}` : listbox.textContent.trim();
  });

  // A tag typed but not yet added (no Enter or comma) is still saved with the form.
  document.addEventListener("submit", (event) => {
    event.target.querySelectorAll(TAGS).forEach((input) => {
      if (input.value.trim()) addTag(tagPicker(input), input.value);
    });
  }, true);

  // --- Swap the plain inputs for the pickers, on load and in every HTMX swap --------------
  function enhanceRelation(root) {
    const select = root.querySelector("[data-picker-fallback]");
    const box = root.querySelector("[data-picker-box]");
    const input = box.querySelector(RELATION);
    const picker = relation(input);
    const hadFocus = document.activeElement === select;
    const selected = select.selectedOptions[0];
    const value = select.value;
    input.id = select.id; // the <label for> now names the combobox
    select.removeAttribute("id");
    select.disabled = true;
    select.hidden = true;
    picker.value.disabled = false;
    box.hidden = false;
    picker.value.value = value;
    const label = value && selected ? selected.textContent : "";
    input.value = label;
    input.dataset.chosenLabel = label;
    picker.clear.hidden = !value;
    if (hadFocus) {
      input.focus();
      input.select();
    }
  }

  function enhanceTags(root) {
    const value = root.querySelector("[data-tag-value]");
    const box = root.querySelector("[data-tag-box]");
    const input = box.querySelector(TAGS);
    const hadFocus = document.activeElement === value;
    input.id = value.id;
    value.removeAttribute("id");
    value.type = "hidden";
    box.hidden = false;
    const picker = tagPicker(input);
    picker.chips.replaceChildren();
    value.value.split(",").map((tag) => tag.trim()).filter(Boolean).forEach((tag) => {
      if (!tagsOf(picker).includes(tag)) addChip(picker, tag);
    });
    if (hadFocus) input.focus();
  }

  function enhance(root) {
    if (!root.querySelectorAll) return;
    root.querySelectorAll("[data-picker]:not([data-ready])").forEach((el) => {
      el.dataset.ready = "1";
      enhanceRelation(el);
    });
    root.querySelectorAll("[data-tag-picker]:not([data-ready])").forEach((el) => {
      el.dataset.ready = "1";
      enhanceTags(el);
    });
  }

  document.addEventListener("htmx:load", (event) => enhance(event.detail.elt));
  document.addEventListener("DOMContentLoaded", () => enhance(document));
})();
