// Progressive enhancement of the signup wizard; every step works without it.
(function () {
  "use strict";

  // Step 1: show only the functions (optgroups) and boxes of the chosen category.
  var category = document.getElementById("id_fonction-category");
  var fn = document.getElementById("id_fonction-function");
  var flagData = document.getElementById("signup-flag-categories");
  if (category && fn) {
    var flagCategories = flagData ? JSON.parse(flagData.textContent) : {};
    var update = function () {
      var chosen = category.options[category.selectedIndex];
      var name = chosen && chosen.value ? chosen.text : null;
      Array.prototype.forEach.call(fn.querySelectorAll("optgroup"), function (group) {
        var visible = !name || group.label === name;
        group.hidden = !visible;
        group.disabled = !visible;
        if (!visible && group.contains(fn.options[fn.selectedIndex])) { fn.value = ""; }
      });
      Object.keys(flagCategories).forEach(function (flagId) {
        var box = document.querySelector('input[name="fonction-flags"][value="' + flagId + '"]');
        if (!box) { return; }
        var item = box.closest(".fr-fieldset__element") || box.parentNode;
        var visible = chosen && chosen.value && flagCategories[flagId].indexOf(Number(chosen.value)) !== -1;
        item.hidden = !visible;
        if (!visible) { box.checked = false; }
      });
      var wrapper = document.querySelector("[data-signup-flags]");
      if (wrapper) { wrapper.hidden = !document.querySelector('[data-signup-flags] .fr-fieldset__element:not([hidden])'); }
    };
    category.addEventListener("change", update);
    update();
  }

  // Step 4: a click on the image fetches another one.
  var image = document.querySelector("[data-captcha-image]");
  if (image) {
    image.style.cursor = "pointer";
    image.title = image.alt;
    image.addEventListener("click", function () {
      fetch(image.dataset.refreshUrl, { headers: { "X-Requested-With": "XMLHttpRequest" } })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          image.src = data.image_url;
          var key = document.querySelector('input[name="confirmation-captcha_0"]');
          if (key) { key.value = data.key; }
          var audio = document.querySelector("[data-captcha-audio]");
          if (audio) { audio.href = audio.href.replace(/antispam\/[^/]+\//, "antispam/" + data.key + "/"); }
          var input = document.querySelector('input[name="confirmation-captcha_1"]');
          if (input) { input.value = ""; input.focus(); }
        });
    });
  }
})();
