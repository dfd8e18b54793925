// A YMERA agent in Node.js. It uses nothing of YMERA but the wire protocol
// of docs/protocol.md: it registers its task type, heartbeats, declares its
// durable consumers, takes tasks, reports start and result to the
// "ymera-results" service, and acknowledges only after the result is
// recorded. Its capability, js_echo, answers {"echo": <parameters>}.
"use strict";

const os = require("os");
const { connect, AckPolicy, DeliverPolicy, ReplayPolicy, nanos } = require("nats");

const KIND = "js_echo";
const TASK_TYPE = "js_echo";
const PRIORITIES = ["critical", "high", "normal", "low"]; // highest first
const ACK_WAIT_MS = 30_000;
const MAX_DELIVER = 5;
const BACKOFF_MS = [30_000, 60_000, 120_000, 240_000]; // AckWait doubled, MaxDeliver-1 values
const HEARTBEAT_MS = 10_000;
const REQUEST_MS = 10_000;
const PARAMS_SCHEMA = { type: "object", description: "Any object; it is echoed back." };

const agentId = (process.env.AGENT_ID || `js-echo-${os.hostname()}-${process.pid}`).replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 128);
const enc = (v) => new TextEncoder().encode(JSON.stringify(v));
const dec = (b) => JSON.parse(new TextDecoder().decode(b));
let inFlight = 0;
let stopping = false;

// handle runs one delivery: start, work (keeping the lease), result, answer.
async function handle(nc, m) {
  const lease = m.info.streamSequence;
  let task;
  try {
    task = dec(m.data);
  } catch (e) {
    console.error(`dropping undecodable message at ${lease}: ${e.message}`);
    m.term();
    return;
  }
  if (task.v !== 1) {
    console.error(`dropping task ${task.id}: version ${task.v}`);
    m.term();
    return;
  }
  const start = await report(nc, "ymera.agent.report.start", { v: 1, task_id: task.id, lease, agent_id: agentId });
  if (!start.ok) {
    answer(m, start);
    return;
  }
  inFlight++;
  const keep = setInterval(() => m.working(), ACK_WAIT_MS / 3); // +WPI within AckWait
  let outcome;
  try {
    outcome = { status: "completed", result: { echo: task.parameters === undefined ? null : task.parameters } };
  } catch (e) {
    outcome = { status: "failed", error: String(e && e.message || e), permanent: false };
  } finally {
    clearInterval(keep);
    inFlight--;
  }
  const done = await report(nc, "ymera.agent.report.result", { v: 1, task_id: task.id, lease, agent_id: agentId, ...outcome });
  answer(m, done);
}

// report sends a request to the results service; a refusal comes back as its
// JSON body (ok: false) with the action to take.
async function report(nc, subject, body) {
  try {
    const reply = await nc.request(subject, enc(body), { timeout: REQUEST_MS });
    return dec(reply.data);
  } catch (e) {
    // No answer (no responders, timeout): nothing is known to be recorded;
    // the server redelivers after the ack deadline.
    console.error(`${subject}: ${e.message}`);
    return { ok: false, action: "none" };
  }
}

// answer does what the service said: ack, nak with delay, or nothing.
function answer(m, r) {
  switch (r.action) {
    case "ack":
      m.ack();
      break;
    case "nak": {
      const delay = Math.round((r.delay_ns || 0) / 1e6);
      // The server adds BackOff[n-1]-BackOff[0] to a nak delay on delivery
      // n; take it off, or wait here when the delay is shorter than that.
      const n = m.info.redeliveryCount;
      const skew = n < 2 ? 0 : BACKOFF_MS[Math.min(n - 1, BACKOFF_MS.length - 1)] - BACKOFF_MS[0];
      if (delay > skew) {
        m.nak(delay - skew);
      } else {
        m.working();
        setTimeout(() => m.nak(), delay);
      }
      break;
    }
    default:
      if (r.message) console.error(`report refused: ${r.code} ${r.message}`);
  }
}

async function registerTaskType(js) {
  const kv = await js.views.kv("ymera_task_types", { bindOnly: true });
  const val = enc({ v: 1, kind: KIND, registered_at: new Date().toISOString() });
  try {
    await kv.create(TASK_TYPE, val);
  } catch {
    const cur = await kv.get(TASK_TYPE);
    if (cur && cur.value.length && dec(cur.value).kind !== KIND) {
      throw new Error(`task type ${TASK_TYPE} belongs to kind ${dec(cur.value).kind}`);
    }
    await kv.put(TASK_TYPE, val);
  }
}

async function heartbeat(js) {
  const kv = await js.views.kv("ymera_heartbeats", { bindOnly: true });
  const beat = () =>
    kv.put(agentId, enc({ v: 1, agent_id: agentId, kind: KIND, status: "healthy", time: new Date().toISOString(), in_flight: inFlight }))
      .catch((e) => console.error(`heartbeat: ${e.message}`));
  await beat();
  return setInterval(beat, HEARTBEAT_MS);
}

// ensureConsumers declares agent_<kind>_<priority> exactly as Go nodes do,
// so that any mix of nodes running the kind agrees on it.
// It also declares direct_<agent_id>_<priority>, for the tasks the platform
// routes to this agent alone (ymera.tasks.*.<priority>.<agent_id>).
function consumerNames() {
  const out = [];
  for (const p of PRIORITIES) {
    out.push([`direct_${agentId}_${p}`, `ymera.tasks.*.${p}.${agentId}`]);
    out.push([`agent_${KIND}_${p}`, `ymera.tasks.${TASK_TYPE}.${p}`]);
  }
  return out;
}

async function ensureConsumers(jsm) {
  for (const [name, filter] of consumerNames()) {
    const cfg = {
      durable_name: name,
      description: `YMERA agent kind ${KIND}`,
      filter_subjects: [filter],
      deliver_policy: DeliverPolicy.All,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(BACKOFF_MS[0]),
      max_deliver: MAX_DELIVER,
      backoff: BACKOFF_MS.map(nanos),
      replay_policy: ReplayPolicy.Instant,
      max_ack_pending: 1024,
    };
    try {
      await jsm.consumers.add("YMERA_TASKS", cfg);
    } catch {
      await jsm.consumers.update("YMERA_TASKS", cfg.durable_name, cfg);
    }
  }
}

// microService makes the agent discoverable: $SRV.PING/INFO/STATS.
async function microService(nc) {
  const svc = await nc.services.add({
    name: `ymera-agent-${KIND}`, version: "1.0.0", description: "Echoes its parameters (Node.js example)",
    queue: `ymera-agent-${KIND}`, metadata: { kind: KIND },
  });
  const info = enc({ v: 1, kind: KIND, task_type: TASK_TYPE, params_schema: PARAMS_SCHEMA });
  svc.addEndpoint(TASK_TYPE, {
    subject: `ymera.agent.kind.${KIND}.${TASK_TYPE}`,
    metadata: { kind: KIND, task_type: TASK_TYPE, params_schema: JSON.stringify(PARAMS_SCHEMA) },
    handler: (err, msg) => { if (!err) msg.respond(info); },
  });
  return svc;
}

async function main() {
  // NATS_USER / NATS_PASSWORD: the nats.conf user of the agent role ("agent").
  const auth = process.env.NATS_USER ? { user: process.env.NATS_USER, pass: process.env.NATS_PASSWORD || "" } : {};
  const nc = await connect({ servers: process.env.NATS_URL || "127.0.0.1:4222", name: agentId, ...auth });
  // Asynchronous errors, a permissions violation among them (a subject the
  // agent's NATS user may not use), come only through the status iterator.
  (async () => {
    for await (const st of nc.status()) {
      if (st.type === "error") console.error(`nats: ${st.data}`);
    }
  })().catch(() => {});
  const js = nc.jetstream();
  const jsm = await nc.jetstreamManager();
  await registerTaskType(js);
  await ensureConsumers(jsm);
  const beat = await heartbeat(js);
  const svc = await microService(nc);
  const consumers = await Promise.all(consumerNames().map(([name]) => js.consumers.get("YMERA_TASKS", name)));

  const stop = async () => {
    stopping = true;
    clearInterval(beat);
    await svc.stop().catch(() => {});
    await nc.drain().catch(() => {});
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  console.log(`ymera js agent ${agentId} ready`);

  // Highest priority first: take from the first consumer that has a task.
  while (!stopping) {
    let got = false;
    for (const c of consumers) {
      if (stopping) break;
      let m = null;
      try {
        m = await c.next({ expires: 1000 });
      } catch (e) {
        if (!stopping) console.error(`fetch: ${e.message}`);
      }
      if (m) {
        got = true;
        await handle(nc, m);
        break;
      }
    }
    if (!got && !stopping) await new Promise((r) => setTimeout(r, 50));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
