// The door page's camera scanner (pages/door.py). Decodes QR codes in the browser, with the
// browser's own BarcodeDetector where it has one for QR codes and the vendored jsQR
// (assets/vendor/jsqr) everywhere else; only the decoded text is sent to the server
// (emitEvent 'door-scan'), never a camera frame.
window.doorScanner = (() => {
  let stream = null;
  let timer = null;
  let detector = null;
  let last = '';
  let lastAt = 0;
  const REPEAT_MS = 3000; // the same code held in front of the camera counts once
  const canvas = document.createElement('canvas');

  async function nativeDetector() {
    if (!('BarcodeDetector' in window)) return null;
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      return formats.includes('qr_code') ? new window.BarcodeDetector({ formats: ['qr_code'] }) : null;
    } catch (e) {
      return null;
    }
  }

  // jsQR on whatever `source` (video, img) shows, drawn at width x height.
  function decodePixels(source, width, height) {
    if (!width || !height) return null;
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext('2d', { willReadFrequently: true });
    context.fillStyle = '#ffffff';
    context.fillRect(0, 0, width, height);
    context.drawImage(source, 0, 0, width, height);
    const image = context.getImageData(0, 0, width, height);
    const found = window.jsQR(image.data, width, height, { inversionAttempts: 'attemptBoth' });
    return found ? found.data : null;
  }

  async function decodeFrame(video) {
    if (detector) {
      const codes = await detector.detect(video);
      return codes.length ? codes[0].rawValue : null;
    }
    return decodePixels(video, video.videoWidth, video.videoHeight);
  }

  function report(text) {
    const now = Date.now();
    if (text === last && now - lastAt < REPEAT_MS) return;
    last = text;
    lastAt = now;
    emitEvent('door-scan', text);
  }

  async function start(videoId) {
    const video = document.getElementById(videoId);
    detector = await nativeDetector();
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: 'environment' },
      audio: false,
    });
    video.srcObject = stream;
    await video.play();
    const tick = async () => {
      if (!stream) return;
      try {
        const text = await decodeFrame(video);
        if (text) report(text);
      } catch (e) {
        // a frame that could not be read; the next one may be
      }
      timer = setTimeout(tick, 150);
    };
    tick();
    return detector ? 'native' : 'jsqr';
  }

  function stop() {
    if (timer) clearTimeout(timer);
    timer = null;
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
  }

  // The JavaScript decoder on an image element (tests, and any still picture).
  function decodeImage(img, size) {
    const side = size || 400;
    return decodePixels(img, side, side);
  }

  // A ticket's URL opened by a phone's own camera app carries the code as the fragment:
  // put it in the code box (the organizer confirms), and drop it from the address bar.
  function codeFromAddress() {
    const code = decodeURIComponent(window.location.hash.slice(1));
    if (code) history.replaceState(null, '', window.location.pathname + window.location.search);
    return code;
  }

  return { start, stop, decodeImage, codeFromAddress };
})();
