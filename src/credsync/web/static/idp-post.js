// The identity provider's answer: the form holding the signed response posts itself to
// Office 365's sign-in (without JavaScript, the person presses Continue).
(function () {
  "use strict";
  var form = document.querySelector("form[data-auto-post]");
  if (form) { form.submit(); }
})();
