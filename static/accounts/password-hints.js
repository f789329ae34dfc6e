/*
 * Ticks off the password rules listed under a new-password field as the user types.
 *
 * The list is rendered by the server (templates/accounts/_password_field.html) and is complete
 * without this script; the server checks every rule when the form is sent. Rules with a
 * data-rule attribute are checked here, with the same character classes as accounts/passwords.py:
 *   length  <n>      at least n characters (code points)
 *   class   <name>   at least one character of the class (digit, lower, upper, symbol)
 *   classes <n>      at least n of the four classes
 */
(function () {
  "use strict";

  var CLASSES = {
    digit: /\p{Nd}/u,
    lower: /\p{Ll}/u,
    upper: /\p{Lu}/u,
    symbol: /[^\p{L}\p{N}]/u,
  };

  function countClasses(value) {
    return Object.keys(CLASSES).filter(function (name) {
      return CLASSES[name].test(value);
    }).length;
  }

  function isMet(rule, parameter, value) {
    switch (rule) {
      case "length":
        return Array.from(value).length >= Number(parameter);
      case "class":
        return CLASSES[parameter] ? CLASSES[parameter].test(value) : null;
      case "classes":
        return countClasses(value) >= Number(parameter);
      default:
        return null;
    }
  }

  function watch(input) {
    var group = document.getElementById(input.getAttribute("data-password-hints"));
    if (!group) {
      return;
    }
    var items = group.querySelectorAll("[data-rule]");
    var status = group.querySelector("[data-hints-status]");
    var timer = null;

    function update() {
      var value = input.value;
      var met = 0;
      var total = 0;
      items.forEach(function (item) {
        var ok = isMet(item.getAttribute("data-rule"), item.getAttribute("data-value"), value);
        if (ok === null) {
          return;
        }
        total += 1;
        var shown = ok && value !== "";
        if (shown) {
          met += 1;
        }
        item.classList.toggle("fr-message--valid", shown);
        item.classList.toggle("fr-message--info", !shown);
        var state = item.querySelector("[data-hint-state]");
        if (state) {
          state.textContent =
            value === "" ? "" : " (" + group.getAttribute(shown ? "data-met-label" : "data-unmet-label") + ")";
        }
      });
      if (status && total) {
        // Announced once the user pauses, not at every key.
        window.clearTimeout(timer);
        timer = window.setTimeout(function () {
          status.textContent =
            value === ""
              ? ""
              : group.getAttribute("data-summary").replace("{met}", met).replace("{total}", total);
        }, 800);
      }
    }

    input.addEventListener("input", update);
    update();
  }

  document.querySelectorAll("input[data-password-hints]").forEach(watch);
})();
