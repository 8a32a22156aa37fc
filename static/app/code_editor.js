// The `code` step's editor (SPEC 8.1 "a code editor for `code`"): the vendored CodeMirror 5 over
// each textarea[data-code-editor] of the settings panel. The textarea stays the form's field:
// every change is copied into it, so Save (an HTMX post, which reads the form before
// CodeMirror's own submit hook would run) and validation see the code. Without CodeMirror
// (the script failed to load) the plain textarea is the editor.
(function () {
  "use strict";

  function enhance(root) {
    if (!window.CodeMirror || !root.querySelectorAll) return;
    root.querySelectorAll("textarea[data-code-editor]").forEach((textarea) => {
      if (textarea.codeMirror) return;
      const editor = window.CodeMirror.fromTextArea(textarea, {
        mode: textarea.dataset.codeEditor,
        lineNumbers: true,
        indentUnit: 2,
        tabSize: 2,
        viewportMargin: Infinity,
        extraKeys: {
          Tab: (cm) => (cm.somethingSelected() ? cm.indentSelection("add") : cm.replaceSelection("  ")),
          "Shift-Tab": () => window.CodeMirror.Pass, // leaves the editor, as in any form
        },
      });
      textarea.codeMirror = editor; // panel.js's variable picker inserts through it
      const label = textarea.id && document.querySelector(`label[for="${CSS.escape(textarea.id)}"]`);
      if (label) editor.getInputField().setAttribute("aria-label", label.textContent.trim());
      if (textarea.getAttribute("aria-invalid")) editor.getWrapperElement().classList.add("is-invalid");
      editor.on("change", () => {
        editor.save();
        textarea.dispatchEvent(new Event("input", { bubbles: true }));
      });
    });
  }

  document.addEventListener("htmx:load", (event) => enhance(event.detail.elt));
  enhance(document);
})();
