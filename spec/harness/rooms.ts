// Rooms with the bridge bot in them, as a room admin would set them up. The helpers live in
// src/demo/ (the demo uses them too, and src/ must not import from spec/).
export { botNotice, roomWithBot, secretFromDm, tokenFromDm } from "../../src/demo/demo-room.js";
