// @ts-check
// An EventTarget whose events are CustomEvents with a typed `detail`, one type per event name.
//
// It is the plain DOM EventTarget at run time (addEventListener only passes through); the
// types let the checker (scripts/check-js.sh) see what each event carries.

/**
 * @template {object} EventMap  event name -> the `detail` its CustomEvent carries
 */
export class TypedEventTarget extends EventTarget {
  /**
   * @template {keyof EventMap & string} K
   * @overload
   * @param {K} type
   * @param {(event: CustomEvent<EventMap[K]>) => void} listener
   * @param {boolean | AddEventListenerOptions} [options]
   * @returns {void}
   */
  /**
   * @overload
   * @param {string} type
   * @param {EventListenerOrEventListenerObject | null} listener
   * @param {boolean | AddEventListenerOptions} [options]
   * @returns {void}
   */
  /**
   * @param {string} type
   * @param {((event: CustomEvent<any>) => void) | EventListenerOrEventListenerObject | null} listener
   * @param {boolean | AddEventListenerOptions} [options]
   * @returns {void}
   * @override
   */
  addEventListener(type, listener, options) {
    // The DOM types every listener as taking a plain Event; ours get the CustomEvent we send.
    super.addEventListener(type, /** @type {EventListenerOrEventListenerObject | null} */ (listener),
      options);
  }

  /**
   * @template {keyof EventMap & string} K
   * @overload
   * @param {K} type
   * @param {(event: CustomEvent<EventMap[K]>) => void} listener
   * @param {boolean | EventListenerOptions} [options]
   * @returns {void}
   */
  /**
   * @overload
   * @param {string} type
   * @param {EventListenerOrEventListenerObject | null} listener
   * @param {boolean | EventListenerOptions} [options]
   * @returns {void}
   */
  /**
   * @param {string} type
   * @param {((event: CustomEvent<any>) => void) | EventListenerOrEventListenerObject | null} listener
   * @param {boolean | EventListenerOptions} [options]
   * @returns {void}
   * @override
   */
  removeEventListener(type, listener, options) {
    super.removeEventListener(type, /** @type {EventListenerOrEventListenerObject | null} */ (listener), options);
  }

  /**
   * Dispatches the event `type` with `detail`.
   * @template {keyof EventMap & string} K
   * @param {K} type
   * @param {EventMap[K]} detail
   * @returns {void}
   */
  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
