/* Leadline rep console: the progressive countdown, the automatic next lead and the wrap-up
   clock. Pages are boosted by htmx (the body is swapped), so everything starts from
   htmx:load for new content; each element is started once. */
(function () {
  "use strict";

  function once(el) {
    if (el.dataset.started) return false;
    el.dataset.started = "1";
    return true;
  }

  function every(el, seconds, tick) {
    var timer = setInterval(function () {
      if (!el.isConnected) { clearInterval(timer); return; }
      if (tick() === false) clearInterval(timer);
    }, seconds * 1000);
  }

  function countdown(form) {
    if (!once(form)) return;
    var left = parseInt(form.dataset.countdown, 10) || 0;
    var shown = form.querySelector("[data-countdown-left]");
    function step() {
      if (shown) shown.textContent = String(left);
      if (left <= 0) { form.requestSubmit(); return false; }
      left -= 1;
      return true;
    }
    if (step() !== false) every(form, 1, step);
  }

  function autoSubmit(form) {
    if (!once(form)) return;
    var delay = parseFloat(form.dataset.autoSubmit) || 1;
    setTimeout(function () { if (form.isConnected) form.requestSubmit(); }, delay * 1000);
  }

  function wrapUp(el) {
    if (!once(el)) return;
    var spent = parseInt(el.dataset.wrapupSpent, 10) || 0;
    var limit = parseInt(el.dataset.wrapupLimit, 10) || 0;
    var clock = el.querySelector("[data-wrapup-clock]");
    var over = el.querySelector(".wrap-up-over");
    every(el, 1, function () {
      spent += 1;
      if (clock) clock.textContent = spent + " s";
      if (spent > limit) { el.classList.add("over"); if (over) over.hidden = false; }
      return true;
    });
  }

  function start(root) {
    if (!root || !root.querySelectorAll) return;
    var all = [root].concat(Array.prototype.slice.call(root.querySelectorAll("*")));
    all.forEach(function (el) {
      if (!el.dataset) return;
      if (el.dataset.countdown !== undefined) countdown(el);
      if (el.dataset.autoSubmit !== undefined) autoSubmit(el);
      if (el.dataset.wrapupSince !== undefined) wrapUp(el);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { start(document.body); });
  document.addEventListener("htmx:load", function (event) { start(event.target); });
})();
