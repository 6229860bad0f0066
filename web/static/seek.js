// VideoQA: every <button data-seek> plays its video from its time in the <video> of its pane.
// Rendered HTML carries only data attributes; this is the one place that acts on them.
(function () {
  "use strict";
  if (window.videoqaSeek) return;

  function playerFor(pane) {
    return document.querySelector('video.vqa-player[data-pane="' + CSS.escape(pane) + '"]');
  }

  function playFrom(video, t) {
    var go = function () {
      video.currentTime = Math.min(t, isFinite(video.duration) ? video.duration : t);
      var started = video.play();
      if (started && started.catch) {
        // A browser that refuses sound without a gesture still plays muted; the user can unmute.
        started.catch(function () { video.muted = true; video.play(); });
      }
    };
    if (video.readyState >= 1) go();
    else video.addEventListener("loadedmetadata", go, { once: true });
  }

  function seek(button) {
    var pane = button.dataset.pane, id = button.dataset.video, t = parseFloat(button.dataset.t);
    var video = playerFor(pane);
    if (!video || !id || !isFinite(t)) return;
    if (video.dataset.video !== id) {
      video.dataset.video = id;
      video.src = "/api/v1/videos/" + encodeURIComponent(id) + "/media";
      video.preload = "metadata";
      var title = document.querySelector('.vqa-player-title[data-pane="' + CSS.escape(pane) + '"]');
      if (title && button.dataset.title !== undefined) title.textContent = button.dataset.title;
      video.load();
    }
    playFrom(video, t);
    video.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-seek]");
    if (!button) return;
    event.preventDefault();
    seek(button);
  });

  // A player rendered with data-start (the library opened at a time) starts there once.
  new MutationObserver(function () {
    document.querySelectorAll("video.vqa-player[data-start]").forEach(function (video) {
      var t = parseFloat(video.dataset.start);
      video.removeAttribute("data-start");
      if (isFinite(t)) playFrom(video, t);
    });
  }).observe(document.documentElement, { childList: true, subtree: true });

  window.videoqaSeek = seek;
})();
