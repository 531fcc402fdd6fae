/** Headers every outbound delivery carries, as Hookshot's outbound hooks send them. */
export function hookshotHeaders(opts: { eventId: string; roomId: string; token: string; userAgent: string; contentType: string }): Record<string, string> {
  return {
    "content-type": opts.contentType,
    "user-agent": opts.userAgent,
    "x-matrix-hookshot-eventid": opts.eventId,
    "x-matrix-hookshot-roomid": opts.roomId,
    "x-matrix-hookshot-token": opts.token,
  };
}
