// The driver's view of a flights file: its bytes, its format and, for parquet, how many row groups it has (read
// from the footer here, in a few lines, so that the driver loads neither apache-arrow nor a parquet library:
// they cost a few hundred milliseconds of a whole run's start, and only the workers decode).
import { readFile } from "node:fs/promises";

export type FileFormat = "parquet" | "arrow";

export interface FlightFile {
  bytes: Uint8Array;
  format: FileFormat;
  /** Parquet row groups; 0 for Arrow IPC (its rows are split by the task that reads them). */
  rowGroups: number;
}

/** Read a .parquet or .arrow (IPC file or stream) file. */
export async function readFlightFile(path: string): Promise<FlightFile> {
  const bytes = await readFile(path);
  if (!path.endsWith(".parquet")) return { bytes, format: "arrow", rowGroups: 0 };
  return { bytes, format: "parquet", rowGroups: parquetRowGroups(bytes) };
}

/** How many parts a file splits into: at most one per row group for parquet. */
export function partCount(file: FlightFile, wanted: number): number {
  return Math.max(1, file.format === "parquet" ? Math.min(file.rowGroups, wanted) : wanted);
}

/**
 * The row group count of a parquet file: the length of field 4 (row_groups) of the Thrift compact-encoded
 * FileMetaData in the footer ([metadata][u32 length]["PAR1"]); every field before it is skipped.
 */
export function parquetRowGroups(bytes: Uint8Array): number {
  const tail = new TextDecoder().decode(bytes.subarray(bytes.length - 4));
  if (bytes.length < 12 || tail !== "PAR1") throw new Error("not a parquet file (no PAR1 footer)");
  const length = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 8, 4).getUint32(0, true);
  const r = new ThriftReader(bytes.subarray(bytes.length - 8 - length, bytes.length - 8));
  for (let id = 0; ;) {
    const header = r.byte();
    const type = header & 0x0f;
    if (type === 0) throw new Error("parquet footer has no row_groups field");
    id = header >> 4 ? id + (header >> 4) : r.zigzag();
    if (id === 4) return r.listSize();
    r.skip(type);
  }
}

/** Just enough of Thrift's compact protocol to skip fields. */
class ThriftReader {
  private at = 0;
  constructor(private readonly b: Uint8Array) {}

  byte(): number {
    if (this.at >= this.b.length) throw new Error("parquet footer ends early");
    return this.b[this.at++];
  }

  varint(): number {
    let v = 0;
    for (let shift = 1, byte = this.byte(); ; shift *= 128, byte = this.byte()) {
      v += (byte & 0x7f) * shift;
      if (byte < 0x80) return v;
    }
  }

  zigzag(): number {
    const v = this.varint();
    return v % 2 ? -(v + 1) / 2 : v / 2;
  }

  listSize(): number {
    const header = this.byte();
    return header >> 4 === 15 ? this.varint() : header >> 4;
  }

  skip(type: number): void {
    switch (type) {
      case 1: case 2: return; // a struct field's boolean is in its type
      case 3: this.at++; return;
      case 4: case 5: case 6: this.varint(); return;
      case 7: this.at += 8; return;
      case 8: { const n = this.varint(); this.at += n; return; } // not `at += varint()`: that adds to the old `at`
      case 9: case 10: {
        const header = this.b[this.at];
        const n = this.listSize();
        for (let i = 0; i < n; i++) this.skipElement(header & 0x0f);
        return;
      }
      case 11: {
        const n = this.varint();
        if (n === 0) return;
        const kinds = this.byte();
        for (let i = 0; i < n; i++) { this.skipElement(kinds >> 4); this.skipElement(kinds & 0x0f); }
        return;
      }
      case 12:
        for (let header = this.byte(); header & 0x0f; header = this.byte()) {
          if (!(header >> 4)) this.zigzag();
          this.skip(header & 0x0f);
        }
        return;
      default: throw new Error(`parquet footer: unknown Thrift type ${type}`);
    }
  }

  /** Booleans inside lists and maps take a byte each. */
  private skipElement(type: number): void {
    if (type === 1 || type === 2) this.at++;
    else this.skip(type);
  }
}
