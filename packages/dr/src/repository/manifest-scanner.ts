// Reads a manifest's JSON as it is decoded, without ever holding all of it: each element of its
// "files" array is parsed on its own and handed on (to a PackedPieces), everything else is kept
// as text and parsed at the end. JSON.parse of a whole incremental's manifest held its text and
// every piece as an object at once (10 MB and ~16 MB for 41,700 runs). Pure: no I/O.

/** The JSON is not a manifest's (truncated, not JSON, or files that are not objects). */
export class ManifestSyntaxError extends Error {}

const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;
const COMMA = 44;
const OPEN_OBJ = 123;
const CLOSE_OBJ = 125;
const OPEN_ARR = 91;
const CLOSE_ARR = 93;

const isSpace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9;

export class ManifestScanner {
  private depth = 0;
  private inString = false;
  private escape = false;
  /** the last string that ended at depth 1 (a key, or a value), and the last token outside strings */
  private lastString = '';
  private stringText = '';
  /** where the current string began in this chunk (0 when it began in an earlier one) */
  private stringStart = 0;
  private prev = 0;
  /** inside the top-level "files" array */
  private inFiles = false;
  private filesSeen = false;
  /** the element being read, from the chunks before the current one */
  private carry = '';
  private inElement = false;
  private rest = '';

  constructor(private readonly onFile: (file: unknown) => void) {}

  write(s: string): void {
    let restFrom = 0;
    let elemFrom = 0;
    for (let k = 0; k < s.length; k++) {
      const c = s.charCodeAt(k);
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === BACKSLASH) this.escape = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.depth === 1) {
            this.stringText += s.slice(this.stringStart, k);
            this.lastString = this.stringText;
          }
          this.prev = QUOTE;
        }
        continue;
      }
      if (isSpace(c)) continue;
      if (this.inFiles && this.depth === 2) {
        // Between elements of the files array: only commas, an object, or the array's end.
        if (c === COMMA) continue;
        if (c === CLOSE_ARR) {
          this.depth = 1;
          this.inFiles = false;
          restFrom = k;
          this.prev = c;
          continue;
        }
        if (c !== OPEN_OBJ) throw new ManifestSyntaxError('its files array holds something other than objects');
        this.depth = 3;
        this.inElement = true;
        elemFrom = k;
        continue;
      }
      if (c === QUOTE) {
        this.inString = true;
        this.stringText = '';
        this.stringStart = k + 1;
        continue;
      }
      if (c === OPEN_OBJ || c === OPEN_ARR) {
        if (c === OPEN_ARR && this.depth === 1 && this.prev === COLON && this.lastString === 'files' && !this.filesSeen) {
          this.rest += s.slice(restFrom, k + 1);
          this.inFiles = true;
          this.filesSeen = true;
          this.depth = 2;
          continue;
        }
        this.depth++;
      } else if (c === CLOSE_OBJ || c === CLOSE_ARR) {
        if (this.depth === 0) throw new ManifestSyntaxError('it closes more than it opens');
        this.depth--;
        if (this.inElement && this.depth === 2) {
          const text = this.carry + s.slice(elemFrom, k + 1);
          this.carry = '';
          this.inElement = false;
          let file: unknown;
          try {
            file = JSON.parse(text);
          } catch {
            throw new ManifestSyntaxError('a piece in its files is not valid JSON');
          }
          this.onFile(file);
        }
      }
      this.prev = c;
    }
    if (this.inString && this.depth === 1) this.stringText += s.slice(this.stringStart);
    this.stringStart = 0;
    if (this.inElement) this.carry += s.slice(elemFrom);
    else if (!this.inFiles) this.rest += s.slice(restFrom);
  }

  /** Everything but the files, parsed (with `files: []`). */
  end<T>(): T {
    if (this.depth !== 0 || this.inString || !this.filesSeen) throw new ManifestSyntaxError(this.filesSeen ? 'it is truncated' : 'it lists no files');
    try {
      return JSON.parse(this.rest) as T;
    } catch {
      throw new ManifestSyntaxError('it is not valid JSON');
    }
  }
}
