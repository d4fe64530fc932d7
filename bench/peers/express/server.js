// The peer of bench/run: what a Node shop would deploy for sessions. express-session with its
// MemoryStore, configured like Hourglass' defaults: rolling idle timeout (every validation touches
// the session and re-issues the cookie), HttpOnly + SameSite cookies, nothing saved for visitors
// who never logged in. Loopback only. bench/run starts it with NODE_ENV=production, as Express
// recommends for a deployment.
'use strict';

const express = require('express');
const session = require('express-session');

const port = Number(process.argv[2] || 0);
const store = new session.MemoryStore();
const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.use(express.json({ limit: '64kb' }));
app.use(
  session({
    name: 'sid',
    secret: 'hourglass-bench-' + process.pid + '-' + Math.random(),
    store,
    resave: false,
    saveUninitialized: false,
    rolling: true,
    cookie: { httpOnly: true, sameSite: 'lax', maxAge: 30 * 60 * 1000 },
  })
);

// Create: log the user in (the session is saved because it was modified).
app.post('/sessions', (req, res) => {
  const user = req.body && req.body.user;
  if (typeof user !== 'string' || user.length === 0) {
    res.status(400).json({ error: 'user required' });
    return;
  }
  req.session.user = user;
  req.session.area = req.body.area === 'admin' ? 'admin' : 'storefront';
  req.session.clientIp = req.body.client_ip || req.ip;
  req.session.createdMs = Date.now();
  res.status(201).json({ user, area: req.session.area });
});

// Validate and touch (rolling: the store's touch() runs and a new cookie expiry goes out).
app.get('/session', (req, res) => {
  if (!req.session.user) {
    res.status(401).json({ error: 'invalid_session' });
    return;
  }
  res.json({ user: req.session.user, area: req.session.area, created_ms: req.session.createdMs });
});

// Bench only: fill the store directly with n sessions like the ones POST /sessions makes, and
// report memory, so that bytes per session can be measured without n HTTP round trips.
app.post('/bench/fill', (req, res) => {
  const n = Number(req.query.n || 0);
  if (global.gc) global.gc();
  const base = process.memoryUsage();
  const start = Date.now();
  const cookie = { originalMaxAge: 30 * 60 * 1000, expires: new Date(Date.now() + 30 * 60 * 1000), httpOnly: true, path: '/', sameSite: 'lax' };
  let pending = n;
  const done = () => {
    if (global.gc) global.gc();
    const after = process.memoryUsage();
    res.json({ sessions: n, ms: Date.now() - start, rss_before: base.rss, rss_after: after.rss, heap_before: base.heapUsed, heap_after: after.heapUsed });
  };
  if (n === 0) {
    done();
    return;
  }
  for (let i = 0; i < n; ++i) {
    const sid = require('crypto').randomBytes(24).toString('base64url');
    store.set(sid, { cookie: { ...cookie }, user: 'user' + i, area: 'storefront', clientIp: '198.51.100.' + (i % 250), createdMs: Date.now() }, () => {
      if (--pending === 0) done();
    });
  }
});

app.get('/bench/memory', (req, res) => {
  if (global.gc) global.gc();
  res.json(process.memoryUsage());
});

const server = app.listen(port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port, pid: process.pid }) + '\n');
});
server.keepAliveTimeout = 30000;
