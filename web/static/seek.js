// VideoQA's one page script. Rendered HTML carries only data attributes; this is the one place
// that acts on them:
// - any element with data-seek (time button, result thumbnail/title/text, moment text, timeline
//   bar) plays its video from its time in the <video> of its pane (loading another video from the
//   player's data-media URL, its {id} filled in: the page, not this script, knows the API's paths);
// - a library card ([data-open]) is marked as the open one (web/ui.py's list script opens it);
// - thumbnails (img[data-src]) load as they scroll into view, a few at a time, and wait while a
//   player is fetching the video the person asked for;
// - timelines redraw their lanes at the range chosen (wheel, drag, the zoom slider), close moments merged
//   into clusters and overlapping bars stacked in rows; a hover shows the thumbnail at that time;
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
      video.hidden = false;  // no player was shown before a video was chosen
      var hint = video.parentElement.querySelector(".vqa-player-hint");
      if (hint) hint.remove();
      playerBusy(video);
      video.dataset.video = id;
      video.src = video.dataset.media.replace("{id}", encodeURIComponent(id));
      video.preload = "auto";
      var title = document.querySelector('.vqa-player-title[data-pane="' + CSS.escape(pane) + '"]');
      if (title && el.dataset.title !== undefined) { title.textContent = el.dataset.title; title.hidden = false; }
      video.load();
    }
    playFrom(video, t);
    var rect = video.getBoundingClientRect();
    if (rect.top < 0 || rect.bottom > window.innerHeight) video.scrollIntoView({ block: "nearest" });
  }

  function markRow(row) {  // the list's own script (web/ui.py) opens the video; bring its player into view
    document.querySelectorAll(".vqa-row-open").forEach(function (r) { r.classList.remove("vqa-row-open"); });
    row.classList.add("vqa-row-open");
    var player = document.getElementById("vqa-library-player");
    if (!player) return;
    var rect = player.getBoundingClientRect();
    if (rect.top < 0 || rect.top > window.innerHeight * 0.5) player.scrollIntoView({ block: "start" });
  }

  // ---- timeline (the same rules as web/render.py: clusters, stack, ticks)
  var TICK_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 18000, 36000], MAX_TICKS = 8;

  function clock(s) {
    s = Math.floor(Math.round(Math.max(0, s) * 10) / 10);
    var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = s % 60;
    return h + ":" + (m < 10 ? "0" : "") + m + ":" + (sec < 10 ? "0" : "") + sec;
  }

  function geometry(start, end, lo, hi) {
    var left = Math.max(0, Math.min(100, (start - lo) / (hi - lo) * 100));
    var right = Math.max(0, Math.min(100, (end - lo) / (hi - lo) * 100));
    var width = Math.min(100, Math.max(MIN_BAR, right - left));
    return [Math.min(left, 100 - width), width];
  }

  function groupEnd(g) { return Math.max.apply(null, g.map(function (m) { return m[1]; })); }

  function stack(groups, lo, hi, maxRows) {  // rows so that no bar covers another; past maxRows, a cluster
    var bars = [], last = [];
    groups.forEach(function (g) {
      var geo = geometry(g[0][0], groupEnd(g), lo, hi), row = -1, r;
      for (r = 0; r < last.length; r++) {
        var b = bars[last[r]];
        if (b.left + b.width <= geo[0] + 1e-9) { row = r; break; }
      }
      if (row < 0 && last.length < maxRows) { row = last.length; last.push(-1); }
      if (row < 0) {
        row = 0;
        for (r = 1; r < last.length; r++) {
          if (bars[last[r]].left + bars[last[r]].width < bars[last[row]].left + bars[last[row]].width) row = r;
        }
        var joined = bars[last[row]], merged = joined.group.concat(g);
        geo = geometry(joined.group[0][0], groupEnd(merged), lo, hi);
        bars[last[row]] = { group: merged, row: row, left: geo[0], width: geo[1] };
        return;
      }
      last[row] = bars.length;
      bars.push({ group: g, row: row, left: geo[0], width: geo[1] });
    });
    return bars;
  }

  function ticks(lo, hi) {
    var length = hi - lo, step = TICK_STEPS[TICK_STEPS.length - 1], out = [];
    for (var i = 0; i < TICK_STEPS.length; i++) { if (length / TICK_STEPS[i] <= MAX_TICKS) { step = TICK_STEPS[i]; break; } }
    for (var t = Math.ceil(lo / step) * step; t <= hi + 1e-9; t += step) out.push([(t - lo) / length * 100, clock(t)]);
    return out;
  }

  function drawLane(track, timeline, lo, hi) {
    var moments = JSON.parse(track.dataset.moments || "[]");
    if (!moments.length) return;
    var gap = MERGE * (hi - lo), groups = [];
    var rowPx = parseInt(timeline.dataset.rowPx, 10) || 22, maxRows = parseInt(timeline.dataset.maxRows, 10) || 4;
    moments.filter(function (m) { return m[1] >= lo && m[0] <= hi; })
      .sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; })
      .forEach(function (m) {  // by starts (as web/render.py clusters): an overlapped short moment keeps its bar
        var last = groups.length ? groups[groups.length - 1] : null;
        if (last && m[0] <= last[last.length - 1][0] + gap) last.push(m);
        else groups.push([m]);
      });
    var bars = stack(groups, lo, hi, maxRows), rows = 1;
    var kind = track.parentElement.dataset.kind, frag = document.createDocumentFragment();
    bars.forEach(function (bar) {
      var g = bar.group, gEnd = groupEnd(g), tip;
      rows = Math.max(rows, bar.row + 1);
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
      b.style.left = bar.left.toFixed(3) + "%"; b.style.width = bar.width.toFixed(3) + "%";
      b.style.top = (bar.row * rowPx + 2) + "px";
      frag.appendChild(b);
    });
    track.querySelectorAll("button.vqa-bar").forEach(function (b) { b.remove(); });
    track.style.height = (rows * rowPx + 2) + "px";
    track.appendChild(frag);
  }

  function view(timeline) {  // the visible range [lo, hi] (the whole video until zoomed)
    var duration = parseFloat(timeline.dataset.duration);
    var lo = parseFloat(timeline.dataset.lo), hi = parseFloat(timeline.dataset.hi);
    return isFinite(lo) && isFinite(hi) ? [lo, hi] : [0, duration];
  }

  function showRange(timeline, lo, hi) {  // clamp to the video and a window of at least MIN_WINDOW s, redraw
    var duration = parseFloat(timeline.dataset.duration);
    if (!isFinite(duration) || duration <= 0) return;
    var smallest = Math.min(MIN_WINDOW, duration), len = Math.max(smallest, Math.min(duration, hi - lo));
    lo = Math.max(0, Math.min(lo, duration - len)); hi = lo + len;
    timeline.dataset.lo = lo.toFixed(3); timeline.dataset.hi = hi.toFixed(3);
    timeline.querySelectorAll(".vqa-lane-track").forEach(function (t) { drawLane(t, timeline, lo, hi); });
    var box = timeline.querySelector(".vqa-ticks");
    if (box) {
      box.textContent = "";
      ticks(lo, hi).forEach(function (tk) {
        var s = document.createElement("span");
        s.style.left = tk[0].toFixed(3) + "%"; s.textContent = tk[1];
        box.appendChild(s);
      });
    }
    var label = timeline.querySelector(".vqa-zoom-window");
    if (label) label.textContent = clock(lo) + "–" + clock(hi);
    var level = timeline.querySelector(".vqa-zoom-level");
    if (level && duration > smallest) level.value = String(Math.round(Math.log(len / duration) / Math.log(smallest / duration) * 100));
  }

  function zoomTimeline(timeline) {  // the slider: the window's length on a log scale, around the middle
    var duration = parseFloat(timeline.dataset.duration), level = timeline.querySelector(".vqa-zoom-level");
    if (!isFinite(duration) || duration <= 0 || !level) return;
    var smallest = Math.min(MIN_WINDOW, duration), v = view(timeline), mid = (v[0] + v[1]) / 2;
    var len = duration * Math.pow(smallest / duration, parseFloat(level.value) / 100);
    showRange(timeline, mid - len / 2, mid + len / 2);
  }

  function trackAt(timeline, clientX) {  // the time under the pointer, from the first lane's track
    var track = timeline.querySelector(".vqa-lane-track"), v = view(timeline);
    if (!track) return null;
    var r = track.getBoundingClientRect();
    if (!r.width) return null;
    return { t: v[0] + (clientX - r.left) / r.width * (v[1] - v[0]), rect: r, range: v };
  }

  function zoomAt(timeline, clientX, factor) {  // wheel: zoom by factor keeping the time under the pointer
    var at = trackAt(timeline, clientX);
    if (!at) return;
    var v = at.range, len = (v[1] - v[0]) * factor, share = (at.t - v[0]) / (v[1] - v[0]);
    share = Math.max(0, Math.min(1, share));
    showRange(timeline, at.t - share * len, at.t - share * len + len);
  }

  var drag = null;
  document.addEventListener("wheel", function (event) {
    var lanes = event.target.closest && event.target.closest(".vqa-lanes");
    if (!lanes || !event.deltaY) return;
    event.preventDefault();
    zoomAt(lanes.closest(".vqa-timeline"), event.clientX, event.deltaY < 0 ? 0.8 : 1.25);
  }, { passive: false });

  document.addEventListener("pointerdown", function (event) {
    var lanes = event.target.closest && event.target.closest(".vqa-lanes");
    if (!lanes || event.button !== 0) return;
    var timeline = lanes.closest(".vqa-timeline"), at = trackAt(timeline, event.clientX);
    if (at) drag = { timeline: timeline, x: event.clientX, range: at.range, width: at.rect.width, moved: false };
  });
  document.addEventListener("pointermove", function (event) {
    if (drag) {
      var dx = event.clientX - drag.x;
      if (Math.abs(dx) > 4) drag.moved = true;
      if (drag.moved) {
        var len = drag.range[1] - drag.range[0], shift = -dx / drag.width * len;
        showRange(drag.timeline, drag.range[0] + shift, drag.range[1] + shift);
      }
    }
    preview(event);
  });
  document.addEventListener("pointerup", function () {
    if (drag && drag.moved) {  // a drag is not a click on the bar it ended on
      var swallow = function (e) { e.stopPropagation(); e.preventDefault(); };
      document.addEventListener("click", swallow, { capture: true, once: true });
      setTimeout(function () { document.removeEventListener("click", swallow, true); }, 0);
    }
    drag = null;
  });

  function preview(event) {  // the thumbnail at the hovered bar's start, or at the time under the pointer
    var lanes = event.target.closest && event.target.closest(".vqa-lanes");
    document.querySelectorAll(".vqa-preview:not([hidden])").forEach(function (p) {
      if (!lanes || !lanes.contains(p)) p.hidden = true;
    });
    if (!lanes) return;
    var timeline = lanes.closest(".vqa-timeline"), box = lanes.querySelector(".vqa-preview");
    var at = trackAt(timeline, event.clientX);
    if (!box || !at || !timeline.dataset.thumb) return;
    var bar = event.target.closest("button.vqa-bar"), t = bar ? parseFloat(bar.dataset.t) : Math.round(at.t);
    if (!isFinite(t) || t < 0 || t > parseFloat(timeline.dataset.duration)) { box.hidden = true; return; }
    var img = box.querySelector("img"), url = timeline.dataset.thumb.replace("{t}", t.toFixed(1));
    if (img.getAttribute("src") !== url) img.src = url;
    box.querySelector(".vqa-preview-time").textContent = clock(t);
    var outer = lanes.getBoundingClientRect();
    box.style.left = Math.max(0, Math.min(outer.width - 164, event.clientX - outer.left - 82)) + "px";
    box.hidden = false;
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
    var row = t.closest(".vqa-library [data-open]");
    if (row) markRow(row);
  });

  document.addEventListener("input", function (event) {
    var t = event.target;
    if (!t.closest) return;
    var timeline = t.closest(".vqa-timeline");
    if (timeline && t.matches(".vqa-zoom-level")) zoomTimeline(timeline);
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
  function scan() {
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
