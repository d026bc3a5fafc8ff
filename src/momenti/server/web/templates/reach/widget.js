/* momenti survey widget: <script src="https://HOST/widget.js" data-survey="KEY" async></script>
   Optional: data-customer, data-token (a signed link token), data-lang (it|en), data-touchpoint,
   data-question (nps|csat), data-target (CSS selector of the element to put the widget in).
   No dependencies and no other requests: one iframe from the same server as this file, shown only when
   it has something to ask (the server says so), hidden for good once answered. */
(function () {
  "use strict";
  var s = document.currentScript;
  if (!s || !s.src || !s.getAttribute("data-survey")) return;
  var d = s.dataset, key = d.survey, origin;
  try { origin = new URL(s.src, location.href).origin; } catch (e) { return; }
  var flag = "momenti-w-" + key;
  try { if (Number(localStorage.getItem(flag) || 0) > Date.now()) return; } catch (e) { /* storage blocked */ }
  var q = [], map = { customer: "c", token: "t", lang: "lang", touchpoint: "tp", question: "q" };
  for (var k in map) { if (d[k]) q.push(map[k] + "=" + encodeURIComponent(d[k])); }
  var f = document.createElement("iframe");
  f.src = origin + "/w/" + encodeURIComponent(key) + (q.length ? "?" + q.join("&") : "");
  f.title = d.lang === "en" ? "Survey" : "Questionario";
  // Laid out but invisible until the page inside says how tall it is (display:none would give it no layout
  // to measure); a widget with nothing to ask never becomes visible.
  f.style.cssText = "visibility:hidden;border:0;width:100%;max-width:30rem;height:0;display:block;color-scheme:normal";
  window.addEventListener("message", function (ev) {
    var m = ev.data;
    if (ev.origin !== origin || ev.source !== f.contentWindow || !m || m.momenti !== key) return;
    if (m.height) { f.style.visibility = "visible"; f.style.height = Math.min(Number(m.height), 2000) + "px"; }
    if (m.done) {
      try { localStorage.setItem(flag, String(Date.now() + Number(m.days || 30) * 864e5)); } catch (e) { /* ok */ }
    }
  });
  var box = d.target ? document.querySelector(d.target) : null;
  if (box) box.appendChild(f); else s.parentNode.insertBefore(f, s.nextSibling);
})();
