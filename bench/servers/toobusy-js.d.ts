// toobusy-js ships no types; this is the part of its API the protected twin uses.
declare module 'toobusy-js' {
  interface TooBusy {
    /** true when the event loop lagged more than maxLag at the last check */
    (): boolean;
    maxLag(ms?: number): number;
    interval(ms?: number): number;
    shutdown(): void;
  }
  const toobusy: TooBusy;
  export = toobusy;
}
