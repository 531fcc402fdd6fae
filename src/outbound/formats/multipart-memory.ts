import { randomBytes } from "node:crypto";

/**
 * A multipart/form-data body with the one `event` part (the event's JSON), built in memory: what
 * `hookshot-multipart` sends for an event without a file. The bytes are those the form-data
 * package writes for the same part (same headers, same layout), without its stream machinery,
 * which cost ~15 µs per delivery. The JSON cannot contain the delimiter: JSON text has no raw
 * CR or LF, and the delimiter starts with CRLF; the boundary is random per body all the same.
 */
export function eventOnlyMultipart(eventJson: string): { body: Buffer; contentType: string } {
  const boundary = `--------------------------${randomBytes(12).toString("hex")}`;
  const body = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="event"; filename="event.json"\r\nContent-Type: application/json\r\n\r\n${eventJson}\r\n--${boundary}--\r\n`,
  );
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}
