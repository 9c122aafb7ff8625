// A reconstruction of the original system's "Enhanced WebSocket" signaling server, written for
// this project from the seed's description of its protocol (/ws-simple/{roomId}, join,
// peer-discovery, user-joined with shouldCreateOffer, targeted relay with fromId, user-left,
// ping/pong). It is NOT the original's code, which we never had: it is what a Node developer
// of that system would plausibly have written in an afternoon with `ws` 8, kept deliberately
// plain (no validation, no errors, no resume) because it serves as a foreign server: the
// conformance suite's "original" profile is held against it, and bench/run_server_bench.py
// measures it beside trio-server. See README.md beside this file.
//
//   node server.mjs [PORT] [--verbose]
// PORT defaults to $PORT, then 3000. --verbose logs a line per join and departure, as the seed's
// server did; off by default so that the benchmark compares it with trio-server at
// --log-level warning, like with like.
import http from 'node:http';
import { WebSocketServer } from 'ws';

const args = process.argv.slice(2);
const verbose = args.includes('--verbose');
const port = Number(args.find((a) => !a.startsWith('--')) ?? process.env.PORT ?? 3000);
const log = verbose ? (line) => console.log(`[EnhancedWS] ${line}`) : () => {};
const PATH = /^\/ws-simple\/([^/?#]+)/;

// roomId -> Map(userId -> participant). A participant: { ws, userId, userName, userRole,
// participantType }.
const rooms = new Map();

// Who offers to whom, from the seed: the coach offers to the client and the AI orb, the client
// offers to the orb, an orb never offers. Anything else: the lower userId offers.
const RANK = { coach: 2, client: 1 };
function shouldCreateOffer(from, to) {
  if (from.participantType === 'ai') return false;
  if (to.participantType === 'ai') return true;
  const a = RANK[from.userRole] ?? 0;
  const b = RANK[to.userRole] ?? 0;
  if (a !== b) return a > b;
  return from.userId < to.userId;
}

function send(ws, message) {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
}

function publicFields(p) {
  return { userId: p.userId, userName: p.userName, userRole: p.userRole,
           participantType: p.participantType };
}

function broadcast(room, exceptId, message) {
  for (const [id, p] of room) if (id !== exceptId) send(p.ws, message);
}

function handleConnection(ws, roomId) {
  let me = null; // this connection's participant once it has joined

  function leave() {
    if (me === null) return;
    const room = rooms.get(roomId);
    if (room !== undefined) {
      room.delete(me.userId);
      broadcast(room, me.userId, { type: 'user-left', userId: me.userId, userRole: me.userRole });
      log(`${me.userId} left room ${roomId} (${room.size} remain)`);
      if (room.size === 0) rooms.delete(roomId);
    }
    me = null;
  }

  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    let message;
    try {
      message = JSON.parse(data.toString());
    } catch {
      return;
    }
    if (message === null || typeof message !== 'object') return;
    switch (message.type) {
      case 'join': {
        leave();
        let room = rooms.get(roomId);
        if (room === undefined) {
          room = new Map();
          rooms.set(roomId, room);
        }
        me = {
          ws,
          userId: String(message.userId),
          userName: message.userName,
          userRole: message.userRole,
          participantType: message.participantType ?? (message.userRole === 'ai' ? 'ai' : 'human'),
        };
        const peers = [];
        for (const [id, p] of room) if (id !== me.userId) peers.push(publicFields(p));
        room.set(me.userId, me);
        log(`${me.userRole} ${me.userName} joining room ${roomId}`);
        send(ws, { type: 'peer-discovery', peers });
        for (const [id, p] of room) {
          if (id === me.userId) continue;
          send(p.ws, { type: 'user-joined', ...publicFields(me),
                       shouldCreateOffer: shouldCreateOffer(p, me) });
        }
        log(`Room ${roomId} now has ${room.size} participants`);
        break;
      }
      case 'offer':
      case 'answer':
      case 'ice-candidate': {
        const room = rooms.get(roomId);
        if (me === null || room === undefined) return;
        const relayed = { ...message, fromId: me.userId };
        if (message.toId !== undefined) {
          const target = room.get(message.toId);
          if (target !== undefined) send(target.ws, relayed);
        } else {
          broadcast(room, me.userId, relayed);
        }
        break;
      }
      case 'ping':
        send(ws, { type: 'pong' });
        break;
      case 'leave':
        leave();
        break;
      default: {
        // ai_status, ai-orb-shutdown and anything else a participant says: to the others.
        const room = rooms.get(roomId);
        if (me !== null && room !== undefined) {
          broadcast(room, me.userId, { ...message, fromId: me.userId });
        }
      }
    }
  });

  ws.on('close', leave);
  ws.on('error', () => {});
}

const server = http.createServer((req, res) => {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});
const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => {
  const match = PATH.exec(req.url ?? '');
  if (match === null) {
    socket.destroy();
    return;
  }
  const roomId = decodeURIComponent(match[1]);
  wss.handleUpgrade(req, socket, head, (ws) => handleConnection(ws, roomId));
});
server.listen(port, '127.0.0.1', () => {
  console.log(`[EnhancedWS] listening on ws://127.0.0.1:${server.address().port}/ws-simple/{roomId}`);
});
const stop = () => server.close(() => process.exit(0)) && wss.clients.forEach((c) => c.terminate());
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
