// Loaded into the page by bench/ui.ts before the view's own scripts (addInitScript): records, on
// the page's clock, when given selectors first all match, and the times of animation frames.
window.__uiBench = {
  marks: {},
  frames: [],
  /** Records performance.now() in marks[key] once every selector matches an element. */
  watch(key, selectors) {
    const marks = this.marks;
    delete marks[key];
    const check = () => {
      if (selectors.every((s) => document.querySelector(s) !== null)) {
        marks[key] = performance.now();
        return true;
      }
      return false;
    };
    if (check()) return;
    const observer = new MutationObserver(() => {
      if (check()) observer.disconnect();
    });
    observer.observe(document, { subtree: true, childList: true, attributes: true });
  },
  /** Starts recording frame times; returns the page's clock now. */
  startFrames() {
    const frames = (this.frames = []);
    const tick = (t) => {
      frames.push(t);
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    return performance.now();
  },
};
