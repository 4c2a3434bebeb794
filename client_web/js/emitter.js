// A tiny event emitter shared by the session and the media: handlers by event type.

export class Emitter {
  constructor() {
    this.handlers = new Map();
  }
  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return this;
  }
  emit(type, detail) {
    for (const fn of this.handlers.get(type) ?? []) {
      try {
        fn(detail);
      } catch (err) {
        // One broken view must not take the session down; show it where developers look.
        console.error(`${type} handler failed`, err);
      }
    }
  }
}
