// VideoQA's one page script. Rendered HTML carries only data attributes; this is the one place
// that acts on them:
// - any element with data-seek (time button, result thumbnail/title/text, moment text, timeline
//   bar) plays its video from its time in the <video> of its pane (loading another video from the
//   player's data-media URL, its {id} filled in: the page, not this script, knows the API's paths);
// - a library row (tr[data-open]) is marked as the open one (web/ui.py's table script opens it);
// - thumbnails (img[data-src]) load as they scroll into view, a few at a time, and wait while a
//   player is fetching the video the person asked for;
// - timelines redraw their lanes at the zoom chosen (overlapping moments merged into clusters);
// - the moments list is filtered by kind and paged.
(function () {
  "use strict";
  if (window.videoqaSeek) return;

  var MERGE = 0.005, MIN_BAR = 0.6, TIP_LINES = 12, MIN_WINDOW = 30, THUMBS_AT_ONCE = 4, PLAYER_FIRST_MS = 4000;

  function playerFor(pane) {
    return document.querySelector('video.vqa-player[data-pane="' + CSS.escape(pane) + '"]');
  }

  // ---- thumbnails: after the player's own request
  var playerBusyUntil = 0, thumbQueue = [], thumbsLoading = 0, thumbTimer = null;

  function pumpThumbs() {
    if (Date.now() < playerBusyUntil) {
      if (!thumbTimer) thumbTimer = setTimeout(function () { thumbTimer = null; pumpThumbs(); }, playerBusyUntil - Date.now());
      return;
    }
    while (thumbsLoading < THUMBS_AT_ONCE && thumbQueue.length) {
      var img = thumbQueue.shift();
      if (!img.isConnected || !img.dataset.src) continue;
      thumbsLoading++;
      var done = function () { thumbsLoading--; pumpThumbs(); };
      img.addEventListener("load", done, { once: true });
      img.addEventListener("error", done, { once: true });
      img.src = img.dataset.src;
      img.removeAttribute("data-src");
    }
  }

  function playerBusy(video) {
    playerBusyUntil = Date.now() + PLAYER_FIRST_MS;
    var free = function () { playerBusyUntil = 0; pumpThumbs(); };
    video.addEventListener("playing", free, { once: true });
    video.addEventListener("error", free, { once: true });
  }

  var seen = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (e) {
      if (!e.isIntersecting) return;
      seen.unobserve(e.target);
      thumbQueue.push(e.target);
    });
    pumpThumbs();
  }, { rootMargin: "200px" }) : null;

  // ---- seeking
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

  function seek(el) {
    var pane = el.dataset.pane, id = el.dataset.video, t = parseFloat(el.dataset.t);
    var video = playerFor(pane);
    if (!video || !id || !isFinite(t)) return;
    if (video.dataset.video !== id) {
      if (!video.dataset.media) return;
      playerBusy(video);
      video.dataset.video = id;
      video.src = video.dataset.media.replace("{id}", encodeURIComponent(id));
      video.preload = "auto";
      var title = document.querySelector('.vqa-player-title[data-pane="' + CSS.escape(pane) + '"]');
      if (title && el.dataset.title !== undefined) title.textContent = el.dataset.title;
      video.load();
    }
    playFrom(video, t);
    var rect = video.getBoundingClientRect();
    if (rect.top < 0 || rect.bottom > window.innerHeight) video.scrollIntoView({ block: "nearest" });
  }

  function markRow(row) {  // the table's own script (web/ui.py) opens the video; bring its player up
    document.querySelectorAll("tr.vqa-row-open").forEach(function (r) { r.classList.remove("vqa-row-open"); });
    row.classList.add("vqa-row-open");
    var player = document.getElementById("vqa-library-player");
    if (player) player.scrollIntoView({ block: "start" });
  }

  // ---- timeline
  function clock(s) {
    s = Math.floor(Math.round(Math.max(0, s) * 10) / 10);
    var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = s % 60;
    return h + ":" + (m < 10 ? "0" : "") + m + ":" + (sec < 10 ? "0" : "") + sec;
  }

  function drawLane(track, timeline, lo, hi) {
    var moments = JSON.parse(track.dataset.moments || "[]");
    if (!moments.length) return;
    var gap = MERGE * (hi - lo), groups = [];
    moments.filter(function (m) { return m[1] >= lo && m[0] <= hi; })
      .sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; })
      .forEach(function (m) {  // by starts (as web/render.py clusters): an overlapped short moment keeps its bar
        var last = groups.length ? groups[groups.length - 1] : null;
        if (last && m[0] <= last[last.length - 1][0] + gap) last.push(m);
        else groups.push([m]);
      });
    var span = function (g) { return Math.max.apply(null, g.map(function (m) { return m[1]; })) - g[0][0]; };
    groups.sort(function (a, b) { return span(b) - span(a); });  // stable: longest first, shorter drawn on top
    var kind = track.parentElement.dataset.kind, frag = document.createDocumentFragment();
    groups.forEach(function (g) {
      var gEnd = Math.max.apply(null, g.map(function (m) { return m[1]; }));
      var left = Math.max(0, Math.min(100, (g[0][0] - lo) / (hi - lo) * 100));
      var right = Math.max(0, Math.min(100, (gEnd - lo) / (hi - lo) * 100));
      var width = Math.min(100, Math.max(MIN_BAR, right - left));
      left = Math.min(left, 100 - width);
      var tip;
      if (g.length === 1) tip = clock(g[0][0]) + "–" + clock(g[0][1]) + "  " + g[0][4];
      else {
        tip = [g.length + " moments " + clock(g[0][0]) + "–" + clock(gEnd)].concat(
          g.slice(0, TIP_LINES).map(function (m) { return clock(m[0]) + "  " + m[4]; })).join("\n");
        if (g.length > TIP_LINES) tip += "\n… and " + (g.length - TIP_LINES) + " more";
      }
      var b = document.createElement("button");
      b.type = "button";
      b.className = "vqa-bar vqa-" + kind + (g.length > 1 ? " vqa-cluster" : "");
      b.dataset.seek = "1"; b.dataset.video = timeline.dataset.video; b.dataset.pane = timeline.dataset.pane;
      b.dataset.t = g[0][0].toFixed(3);
      b.title = tip;  // text, never markup
      b.style.left = left.toFixed(3) + "%"; b.style.width = width.toFixed(3) + "%";
      frag.appendChild(b);
    });
    track.querySelectorAll("button.vqa-bar").forEach(function (b) { b.remove(); });
    track.appendChild(frag);
  }

  function zoomTimeline(timeline) {
    var duration = parseFloat(timeline.dataset.duration);
    var level = timeline.querySelector(".vqa-zoom-level"), pan = timeline.querySelector(".vqa-zoom-pan");
    if (!isFinite(duration) || duration <= 0 || !level) return;
    var smallest = Math.min(MIN_WINDOW, duration);
    var windowLen = duration * Math.pow(smallest / duration, parseFloat(level.value) / 100);
    pan.disabled = windowLen >= duration - 1e-6;
    var lo = (duration - windowLen) * parseFloat(pan.value) / 1000, hi = lo + windowLen;
    timeline.querySelectorAll(".vqa-lane-track").forEach(function (t) { drawLane(t, timeline, lo, hi); });
    timeline.querySelectorAll(".vqa-ticks span").forEach(function (s, i) { s.textContent = clock(lo + windowLen * i / 4); });
    var label = timeline.querySelector(".vqa-zoom-window");
    if (label) label.textContent = clock(lo) + "–" + clock(hi);
    timeline.dataset.lo = lo.toFixed(3); timeline.dataset.hi = hi.toFixed(3);
  }

  // ---- moments list
  function pageMoments(list, page) {
    var size = parseInt(list.dataset.pageSize, 10) || 50, kind = list.querySelector(".vqa-mkind").value;
    var items = Array.prototype.filter.call(list.querySelectorAll("li[data-kind]"), function (li) {
      var match = !kind || li.dataset.kind === kind;
      if (!match) li.hidden = true;
      return match;
    });
    var pages = Math.max(1, Math.ceil(items.length / size));
    page = Math.max(0, Math.min(page, pages - 1));
    items.forEach(function (li, i) { li.hidden = i < page * size || i >= (page + 1) * size; });
    list.dataset.page = String(page);
    list.querySelector(".vqa-mpage").textContent = "page " + (page + 1) + " of " + pages;
    list.querySelector(".vqa-mprev").disabled = page === 0;
    list.querySelector(".vqa-mnext").disabled = page >= pages - 1;
  }

  document.addEventListener("click", function (event) {
    var t = event.target;
    if (!t.closest) return;
    var el = t.closest("[data-seek]");
    if (el) { event.preventDefault(); seek(el); return; }
    var list = t.closest(".vqa-moment-list");
    if (list && t.closest(".vqa-mprev, .vqa-mnext")) {
      pageMoments(list, parseInt(list.dataset.page || "0", 10) + (t.closest(".vqa-mnext") ? 1 : -1));
      return;
    }
    var row = t.closest("tr[data-open]");
    if (row) markRow(row);
  });

  document.addEventListener("input", function (event) {
    var t = event.target;
    if (!t.closest) return;
    var timeline = t.closest(".vqa-timeline");
    if (timeline && t.matches(".vqa-zoom-level, .vqa-zoom-pan")) zoomTimeline(timeline);
  });

  document.addEventListener("change", function (event) {
    var list = event.target.closest && event.target.closest(".vqa-moment-list");
    if (list && event.target.matches(".vqa-mkind")) pageMoments(list, 0);
  });

  // A file the browser cannot play: say so under the player instead of leaving an empty box.
  document.addEventListener("error", function (event) {
    var video = event.target;
    if (!video.matches || !video.matches("video.vqa-player") || !video.error) return;
    var note = video.parentElement.querySelector(".vqa-play-error") || document.createElement("div");
    note.className = "vqa-failed vqa-play-error";
    note.setAttribute("role", "status");
    note.textContent = "This browser cannot play this video (media error " + video.error.code + ").";
    video.insertAdjacentElement("afterend", note);
    // The server may have refused the file (outside the allowed folders, gone from disk): then its
    // reason is the message, not the browser.
    var src = video.currentSrc || video.getAttribute("src");
    if (!src || !window.fetch) return;
    fetch(src, {headers: {Range: "bytes=0-0"}}).then(function (response) {
      if (response.ok) return;
      return response.json().then(function (body) {
        note.textContent = "The server did not send this video: " + (body && body.detail ? body.detail : "HTTP " + response.status) + ".";
      }, function () {
        note.textContent = "The server did not send this video (HTTP " + response.status + ").";
      });
    }).catch(function () {});
  }, true);

  // New HTML from the server: thumbnails to load, and a player rendered with data-start (the
  // library opened at a time) starts there once.
  var bannerFolded = false;
  function scan() {
    var banner = document.querySelector("details.vqa-banner");
    if (banner && !bannerFolded) {  // on a phone the banner starts folded to one line
      bannerFolded = true;
      if (window.innerWidth < 640) banner.open = false;
    }
    document.querySelectorAll("img[data-src]:not([data-queued])").forEach(function (img) {
      img.dataset.queued = "1";
      if (seen) seen.observe(img); else { thumbQueue.push(img); }
    });
    if (!seen) pumpThumbs();
    document.querySelectorAll("video.vqa-player[data-start]").forEach(function (video) {
      var t = parseFloat(video.dataset.start);
      video.removeAttribute("data-start");
      if (isFinite(t)) playFrom(video, t);
    });
  }
  new MutationObserver(scan).observe(document.documentElement, { childList: true, subtree: true });

  window.videoqaSeek = seek;
  window.videoqaZoom = zoomTimeline;
})();
