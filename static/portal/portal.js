// Progressive enhancement shared by every page; each page works without it.
(function () {
  "use strict";

  // A form sent back with errors: its summary (at the top, each error a link to its field) takes
  // the focus, so that screen readers read it out and the next Tab reaches the first error.
  var summary = document.getElementById("form-errors");
  if (summary) { summary.focus(); }
})();
