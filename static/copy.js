// relaydesk's one script: a Copy button beside each "paste into your reply" box. Without it
// the text is still there to select; the button only appears when the script runs.
"use strict";
document.querySelectorAll("[data-copy]").forEach(function (box) {
  var button = document.createElement("button");
  button.type = "button";
  button.className = "secondary copy-button";
  button.textContent = box.getAttribute("data-copy-label") || "Copy";
  var done = box.getAttribute("data-copied-label") || "Copied";
  button.addEventListener("click", function () {
    var text = box.value || box.textContent;
    var shown = function () {
      button.textContent = done;
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(shown, function () {
        box.select();
      });
    } else {
      box.select();
      document.execCommand("copy");
      shown();
    }
  });
  box.insertAdjacentElement("afterend", button);
});
