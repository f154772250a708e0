//! The kernel core: binds the five channels and runs their loops.
//!
//! Shell requests are handled one at a time, in order, each wrapped in iopub `busy` ...
//! `idle`. Control has its own task, so an interrupt or a shutdown is served while a cell
//! runs. Every outgoing iopub message goes through one queue, which is what keeps a cell's
//! live output ahead of its result and its `idle`.

use bytes::Bytes;
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};
use zeromq::{Socket, SocketRecv, SocketSend, ZmqMessage};

use crate::engine::{
    Completeness, EngineHost, ExecuteOutcome, InputSource, LiveOutput, OutputSink,
};
use crate::error::KernelError;
use crate::history::{self, History};
use crate::outbox::{drained, outbox, Drain, Outbox};
use crate::outputs;
use crate::protocol::message::{
    parse_content, CodeAtCursor, CommOpen, ExecuteRequest, HistoryRequest, InputReply,
    IsCompleteRequest, ShutdownRequest,
};
use crate::protocol::signing::ReplayGuard;
use crate::protocol::{ConnectionInfo, Header, MessageFactory, Signer, WireMessage, PROTOCOL_VERSION};

/// How many recent signatures the replay guard remembers, per channel.
const REPLAY_MEMORY: usize = 65_536;

/// Serves one kernel session until a shutdown request, with `engine`: one still starting
/// (requests wait for it) or a spare one, already warm.
pub async fn serve(conn: ConnectionInfo, engine: EngineHost) -> Result<(), KernelError> {
    let signer = Signer::new(&conn.key);
    let factory = MessageFactory::new();

    let mut heartbeat = zeromq::RepSocket::new();
    let mut iopub = zeromq::PubSocket::new();
    let mut shell = zeromq::RouterSocket::new();
    let mut control = zeromq::RouterSocket::new();
    let mut stdin = zeromq::RouterSocket::new();
    bind(&mut heartbeat, "heartbeat", &conn, conn.hb_port).await?;
    bind(&mut iopub, "iopub", &conn, conn.iopub_port).await?;
    bind(&mut shell, "shell", &conn, conn.shell_port).await?;
    bind(&mut control, "control", &conn, conn.control_port).await?;
    bind(&mut stdin, "stdin", &conn, conn.stdin_port).await?;

    let (iopub_tx, iopub_rx) = outbox();
    tokio::spawn(publish_iopub(iopub, iopub_rx, signer.clone()));
    tokio::spawn(echo_heartbeat(heartbeat));

    let parent: Arc<Mutex<Option<Header>>> = Arc::new(Mutex::new(None));
    let silent = Arc::new(AtomicBool::new(false));
    let sink = Arc::new(IopubSink {
        factory: factory.clone(),
        iopub: iopub_tx.clone(),
        parent: parent.clone(),
        silent: silent.clone(),
    });
    engine.connect_output(sink);

    let (stdin_send, stdin_recv) = stdin.split();
    let (stdin_out_tx, stdin_out_rx) = outbox();
    let (input_reply_tx, input_reply_rx) = std_mpsc::channel::<String>();
    // One replay memory for all channels: a message captured on one must not be accepted
    // on another either.
    let replay = Arc::new(Mutex::new(ReplayGuard::new(REPLAY_MEMORY)));
    tokio::spawn(send_router(stdin_send, stdin_out_rx, signer.clone(), "stdin"));
    tokio::spawn(read_input_replies(stdin_recv, signer.clone(), replay.clone(), input_reply_tx));

    let kernel = Arc::new(Kernel {
        factory,
        iopub: iopub_tx,
        engine,
        history: Mutex::new(History::open(History::default_path().as_deref())),
        execution_count: Mutex::new(0),
        parent,
        silent,
        stdin_out: stdin_out_tx,
        input_replies: Arc::new(Mutex::new(input_reply_rx)),
        input_cancelled: Arc::new(AtomicBool::new(false)),
        executing: AtomicBool::new(false),
        pending_interrupt: Arc::new(AtomicBool::new(false)),
        shutdown: Notify::new(),
        shutting_down: AtomicBool::new(false),
        language_version: rustc_version(),
    });
    kernel.publish_status("starting", None);

    let (shell_send, shell_recv) = shell.split();
    let (shell_tx, shell_rx) = mpsc::unbounded_channel::<Received>();
    tokio::spawn(read_router(shell_recv, signer.clone(), replay.clone(), shell_tx, "shell"));
    let (shell_out_tx, shell_out_rx) = outbox();
    tokio::spawn(send_router(shell_send, shell_out_rx, signer.clone(), "shell"));
    tokio::spawn(run_shell(kernel.clone(), shell_rx, shell_out_tx.clone()));

    let (control_send, control_recv) = control.split();
    let (control_tx, control_rx) = mpsc::unbounded_channel::<Received>();
    tokio::spawn(read_router(control_recv, signer.clone(), replay, control_tx, "control"));
    let (control_out_tx, control_out_rx) = outbox();
    tokio::spawn(send_router(control_send, control_out_rx, signer.clone(), "control"));
    tokio::spawn(run_control(kernel.clone(), control_rx, control_out_tx.clone()));

    // Notified once the shutdown reply and its idle are queued; they (and anything queued
    // before them) are written before the process ends.
    kernel.shutdown.notified().await;
    if !drained(&[&kernel.iopub, &shell_out_tx, &control_out_tx], Duration::from_secs(5)).await {
        log::warn!("exiting with messages unsent after 5 s");
    }
    if let Some(interrupter) = kernel.engine.interrupter() {
        interrupter.terminate();
    }
    Ok(())
}

async fn bind<S: Socket>(socket: &mut S, channel: &'static str, conn: &ConnectionInfo, port: u16) -> Result<(), KernelError> {
    let endpoint = conn.endpoint(port);
    socket
        .bind(&endpoint)
        .await
        .map(|_| ())
        .map_err(|e| KernelError::Bind { channel, endpoint, reason: e.to_string() })
}

/// Everything the request handlers share.
struct Kernel {
    factory: MessageFactory,
    iopub: Outbox,
    engine: EngineHost,
    history: Mutex<History>,
    execution_count: Mutex<u32>,
    /// The request that live output belongs to: the cell running now (or last).
    parent: Arc<Mutex<Option<Header>>>,
    /// While true, live output is dropped (silent executions, user_expressions).
    silent: Arc<AtomicBool>,
    stdin_out: Outbox,
    input_replies: Arc<Mutex<std_mpsc::Receiver<String>>>,
    input_cancelled: Arc<AtomicBool>,
    /// A cell is between its busy and idle.
    executing: AtomicBool,
    /// An interrupt arrived while the engine was still starting: the cell waiting for it
    /// must not run.
    pending_interrupt: Arc<AtomicBool>,
    /// Notified when a shutdown request has been answered (reply and idle queued).
    shutdown: Notify,
    /// A shutdown was requested: the loop that answers it notifies [`Kernel::shutdown`].
    shutting_down: AtomicBool,
    language_version: String,
}

impl Kernel {
    fn publish(&self, msg: WireMessage) {
        // The iopub task only stops when the process does.
        self.iopub.send(msg);
    }

    fn publish_status(&self, state: &str, parent: Option<&Header>) {
        self.publish(self.factory.iopub(parent, "status", json!({"execution_state": state})));
    }

    fn execution_count(&self) -> u32 {
        *self.execution_count.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn kernel_info(&self) -> Value {
        json!({
            "status": "ok",
            "protocol_version": PROTOCOL_VERSION,
            "implementation": "strata",
            "implementation_version": env!("CARGO_PKG_VERSION"),
            "language_info": {
                "name": "rust",
                "version": self.language_version,
                "mimetype": "text/rust",
                "file_extension": ".rs",
                "pygments_lexer": "rust",
                "codemirror_mode": "rust",
            },
            "banner": format!(
                "Strata {} - Rust cells, evaluated by evcxr, with the Strata runtime preloaded.\n\
                 Try `:help` for commands, `?name` for documentation.",
                env!("CARGO_PKG_VERSION")
            ),
            "help_links": [
                {"text": "Rust standard library", "url": "https://doc.rust-lang.org/std/"},
                {"text": "evcxr commands", "url": "https://github.com/evcxr/evcxr/blob/main/COMMON.md"},
            ],
            "debugger": false,
        })
    }

    /// Handles one shell request. Returns, for a failed cell with stop_on_error, the moment
    /// its reply left: requests received before then were queued behind it and are aborted.
    async fn handle_shell(&self, request: &WireMessage, replies: &Outbox) -> Option<Instant> {
        let msg_type = request.header.msg_type.as_str();
        let reply = |kind: &str, content: Value| {
            replies.send(self.factory.reply(request, kind, content));
        };
        match msg_type {
            "kernel_info_request" => reply("kernel_info_reply", self.kernel_info()),
            "execute_request" => {
                let (content, failed_and_stop) = self.execute(request).await;
                let replied_at = Instant::now();
                reply("execute_reply", content);
                return failed_and_stop.then_some(replied_at);
            }
            "complete_request" => reply("complete_reply", self.complete(request).await),
            "inspect_request" => reply("inspect_reply", self.inspect(request).await),
            "is_complete_request" => reply("is_complete_reply", self.is_complete(request)),
            "history_request" => reply("history_reply", self.history(request)),
            "comm_info_request" => reply("comm_info_reply", json!({"status": "ok", "comms": {}})),
            "comm_open" => {
                // No comm targets are registered: tell the frontend the comm is closed.
                if let Ok(open) = parse_content::<CommOpen>(request) {
                    log::info!("comm_open for unknown target {:?}", open.target_name);
                    self.publish(self.factory.iopub(
                        Some(&request.header),
                        "comm_close",
                        json!({"comm_id": open.comm_id, "data": {}}),
                    ));
                }
            }
            "comm_msg" | "comm_close" => {}
            "shutdown_request" => reply("shutdown_reply", self.shutdown(request)),
            "interrupt_request" => {
                self.interrupt();
                reply("interrupt_reply", json!({"status": "ok"}));
            }
            other => log::warn!("ignoring unknown shell message type {other:?}"),
        }
        None
    }

    /// Runs a cell; returns the reply content and whether queued cells must be aborted.
    async fn execute(&self, request: &WireMessage) -> (Value, bool) {
        let req = match parse_content::<ExecuteRequest>(request) {
            Ok(req) => req,
            Err(reason) => return (error_content("BadRequest", &reason, self.execution_count()), false),
        };
        let store_history = req.store_history && !req.silent;
        let count = {
            let mut count = self.execution_count.lock().unwrap_or_else(|p| p.into_inner());
            if store_history {
                *count += 1;
            }
            *count
        };
        if !req.silent {
            self.publish(self.factory.iopub(
                Some(&request.header),
                "execute_input",
                json!({"code": req.code, "execution_count": count}),
            ));
        }
        if store_history {
            self.history.lock().unwrap_or_else(|p| p.into_inner()).append(count, &req.code);
        }
        *self.parent.lock().unwrap_or_else(|p| p.into_inner()) = Some(request.header.clone());
        self.silent.store(req.silent, Ordering::SeqCst);
        self.input_cancelled.store(false, Ordering::SeqCst);

        let input = req.allow_stdin.then(|| CellInput {
            request: request.clone(),
            factory: self.factory.clone(),
            out: self.stdin_out.clone(),
            replies: self.input_replies.clone(),
            cancelled: self.input_cancelled.clone(),
        });
        let code = req.code.clone();
        let pending_interrupt = self.pending_interrupt.clone();
        self.executing.store(true, Ordering::SeqCst);
        let outcome = self
            .engine
            .run(move |engine| {
                if pending_interrupt.swap(false, Ordering::SeqCst) {
                    let message = "interrupted while the kernel was starting; the cell did not run".to_owned();
                    return ExecuteOutcome::Error(crate::engine::CellError {
                        ename: "Interrupted".into(),
                        evalue: message.clone(),
                        traceback: vec![message],
                    });
                }
                engine.execute(&code, input.as_ref().map(|i| i as &dyn InputSource))
            })
            .await
            .unwrap_or_else(|unavailable| {
                ExecuteOutcome::Error(crate::engine::CellError {
                    ename: "EngineUnavailable".into(),
                    evalue: unavailable.to_string(),
                    traceback: vec![unavailable.to_string()],
                })
            });

        self.executing.store(false, Ordering::SeqCst);
        match outcome {
            ExecuteOutcome::Ok { data, page } => {
                if !req.silent && !data.is_empty() {
                    self.publish(self.factory.iopub(
                        Some(&request.header),
                        "execute_result",
                        json!({"execution_count": count, "data": data, "metadata": {}}),
                    ));
                }
                let payload: Vec<Value> = page
                    .map(|text| json!({"source": "page", "data": {"text/plain": text}, "start": 0}))
                    .into_iter()
                    .collect();
                let user_expressions = self.user_expressions(req.user_expressions).await;
                self.silent.store(false, Ordering::SeqCst);
                let content = json!({
                    "status": "ok",
                    "execution_count": count,
                    "payload": payload,
                    "user_expressions": user_expressions,
                });
                (content, false)
            }
            ExecuteOutcome::Error(error) => {
                self.silent.store(false, Ordering::SeqCst);
                if !req.silent {
                    self.publish(self.factory.iopub(
                        Some(&request.header),
                        "error",
                        json!({"ename": error.ename, "evalue": error.evalue, "traceback": error.traceback}),
                    ));
                }
                let mut content = error_content(&error.ename, &error.evalue, count);
                content["traceback"] = json!(error.traceback);
                (content, req.stop_on_error)
            }
        }
    }

    /// Evaluates each user expression silently, after the cell.
    async fn user_expressions(&self, expressions: Map<String, Value>) -> Value {
        let mut results = Map::new();
        for (name, expr) in expressions {
            let Some(expr) = expr.as_str().map(str::to_owned) else {
                results.insert(name, json!({"status": "error", "ename": "TypeError", "evalue": "expression must be a string", "traceback": []}));
                continue;
            };
            self.silent.store(true, Ordering::SeqCst);
            let outcome = self.engine.run(move |engine| engine.execute(&expr, None)).await;
            let value = match outcome {
                Ok(ExecuteOutcome::Ok { data, .. }) => json!({"status": "ok", "data": data, "metadata": {}}),
                Ok(ExecuteOutcome::Error(e)) => {
                    json!({"status": "error", "ename": e.ename, "evalue": e.evalue, "traceback": e.traceback})
                }
                Err(e) => json!({"status": "error", "ename": "EngineUnavailable", "evalue": e.to_string(), "traceback": []}),
            };
            results.insert(name, value);
        }
        Value::Object(results)
    }

    async fn complete(&self, request: &WireMessage) -> Value {
        let Ok(req) = parse_content::<CodeAtCursor>(request) else {
            return json!({"status": "error", "ename": "BadRequest", "evalue": "bad complete_request", "traceback": []});
        };
        let cursor_chars = req.cursor_pos.unwrap_or_else(|| req.code.chars().count());
        let cursor = char_to_byte(&req.code, cursor_chars);
        let code = req.code.clone();
        let result = self.engine.run(move |e| e.complete(&code, cursor)).await.unwrap_or_default();
        json!({
            "status": "ok",
            "matches": result.matches,
            "cursor_start": byte_to_char(&req.code, result.start),
            "cursor_end": byte_to_char(&req.code, result.end),
            "metadata": {},
        })
    }

    async fn inspect(&self, request: &WireMessage) -> Value {
        let Ok(req) = parse_content::<CodeAtCursor>(request) else {
            return json!({"status": "error", "ename": "BadRequest", "evalue": "bad inspect_request", "traceback": []});
        };
        let cursor_chars = req.cursor_pos.unwrap_or_else(|| req.code.chars().count());
        let cursor = char_to_byte(&req.code, cursor_chars);
        let code = req.code;
        match self.engine.run(move |e| e.inspect(&code, cursor)).await.ok().flatten() {
            Some(found) => {
                let mut data = json!({"text/plain": found.text});
                if let Some(html) = found.html {
                    data["text/html"] = json!(html);
                }
                json!({"status": "ok", "found": true, "data": data, "metadata": {}})
            }
            None => json!({"status": "ok", "found": false, "data": {}, "metadata": {}}),
        }
    }

    fn is_complete(&self, request: &WireMessage) -> Value {
        let Ok(req) = parse_content::<IsCompleteRequest>(request) else {
            return json!({"status": "unknown"});
        };
        match crate::engine::is_complete::check(&req.code) {
            Completeness::Complete => json!({"status": "complete"}),
            Completeness::Incomplete { indent } => json!({"status": "incomplete", "indent": indent}),
            Completeness::Invalid => json!({"status": "invalid"}),
        }
    }

    fn history(&self, request: &WireMessage) -> Value {
        let Ok(req) = parse_content::<HistoryRequest>(request) else {
            return json!({"status": "ok", "history": []});
        };
        let h = self.history.lock().unwrap_or_else(|p| p.into_inner());
        let entries = match req.hist_access_type.as_str() {
            "tail" => h.tail(req.n.unwrap_or(10)),
            "range" => h.range(req.session, req.start, req.stop),
            "search" => {
                let pattern = if req.pattern.is_empty() { "*" } else { req.pattern.as_str() };
                h.search(pattern, req.n, req.unique)
            }
            _ => Vec::new(),
        };
        json!({"status": "ok", "history": history::to_reply(&entries, req.output)})
    }

    fn shutdown(&self, request: &WireMessage) -> Value {
        let restart = parse_content::<ShutdownRequest>(request).map(|r| r.restart).unwrap_or(false);
        self.shutting_down.store(true, Ordering::SeqCst);
        json!({"status": "ok", "restart": restart})
    }

    /// After a request's idle: if it was a shutdown, lets [`serve`] end the process.
    fn exit_if_shutting_down(&self) {
        if self.shutting_down.load(Ordering::SeqCst) {
            self.shutdown.notify_one();
        }
    }

    fn interrupt(&self) {
        self.input_cancelled.store(true, Ordering::SeqCst);
        match self.engine.interrupter() {
            Some(interrupter) => interrupter.interrupt(),
            None if self.executing.load(Ordering::SeqCst) => self.pending_interrupt.store(true, Ordering::SeqCst),
            None => {}
        }
    }
}

fn error_content(ename: &str, evalue: &str, count: u32) -> Value {
    json!({"status": "error", "ename": ename, "evalue": evalue, "traceback": [], "execution_count": count})
}

/// The shell loop: one request at a time, in arrival order.
async fn run_shell(kernel: Arc<Kernel>, mut requests: mpsc::UnboundedReceiver<Received>, replies: Outbox) {
    // Set after a failed cell with stop_on_error: execute requests that arrived before the
    // failure was reported were sent without knowing of it, and are not run.
    let mut abort_before: Option<Instant> = None;
    while let Some((received_at, request)) = requests.recv().await {
        kernel.publish_status("busy", Some(&request.header));
        let aborted = request.header.msg_type == "execute_request" && abort_before.is_some_and(|t| received_at < t);
        if aborted {
            let content = json!({"status": "aborted", "execution_count": kernel.execution_count()});
            replies.send(kernel.factory.reply(&request, "execute_reply", content));
        } else if let Some(failed_at) = kernel.handle_shell(&request, &replies).await {
            abort_before = Some(failed_at);
        }
        kernel.publish_status("idle", Some(&request.header));
        kernel.exit_if_shutting_down();
    }
}

/// The control loop: served even while a cell runs on shell.
async fn run_control(kernel: Arc<Kernel>, mut requests: mpsc::UnboundedReceiver<Received>, replies: Outbox) {
    while let Some((_, request)) = requests.recv().await {
        kernel.publish_status("busy", Some(&request.header));
        let reply = |kind: &str, content: Value| {
            replies.send(kernel.factory.reply(&request, kind, content));
        };
        match request.header.msg_type.as_str() {
            "kernel_info_request" => reply("kernel_info_reply", kernel.kernel_info()),
            "interrupt_request" => {
                kernel.interrupt();
                reply("interrupt_reply", json!({"status": "ok"}));
            }
            "shutdown_request" => reply("shutdown_reply", kernel.shutdown(&request)),
            "debug_request" => reply("debug_reply", json!({"status": "error", "ename": "NotSupported", "evalue": "this kernel has no debugger", "traceback": []})),
            other => log::warn!("ignoring unknown control message type {other:?}"),
        }
        kernel.publish_status("idle", Some(&request.header));
        kernel.exit_if_shutting_down();
    }
}

/// A request and the moment it came off the socket.
type Received = (Instant, WireMessage);

/// Reads a ROUTER socket, passing on only messages that decode and authenticate.
async fn read_router(
    mut socket: zeromq::RouterRecvHalf,
    signer: Signer,
    replay: Arc<Mutex<ReplayGuard>>,
    out: mpsc::UnboundedSender<Received>,
    channel: &'static str,
) {
    loop {
        match socket.recv().await {
            Ok(message) => match decode(message, &signer, &replay) {
                Ok(decoded) => {
                    if out.send((Instant::now(), decoded)).is_err() {
                        return;
                    }
                }
                Err(reason) => log::warn!("dropped a message on {channel}: {reason}"),
            },
            Err(e) => {
                log::warn!("{channel} receive error: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn send_router(mut socket: zeromq::RouterSendHalf, mut queue: Drain, signer: Signer, channel: &'static str) {
    while let Some(message) = queue.next().await {
        if let Some(frames) = to_zmq(message.encode(&signer)) {
            if let Err(e) = socket.send(frames).await {
                log::warn!("could not send on {channel}: {e}");
            }
        }
        queue.written();
    }
}

async fn publish_iopub(mut socket: zeromq::PubSocket, mut queue: Drain, signer: Signer) {
    while let Some(message) = queue.next().await {
        if let Some(frames) = to_zmq(message.encode(&signer)) {
            if let Err(e) = socket.send(frames).await {
                log::warn!("could not publish on iopub: {e}");
            }
        }
        queue.written();
    }
}

async fn echo_heartbeat(mut socket: zeromq::RepSocket) {
    loop {
        match socket.recv().await {
            Ok(ping) => {
                if let Err(e) = socket.send(ping).await {
                    log::warn!("heartbeat send error: {e}");
                }
            }
            Err(e) => {
                log::warn!("heartbeat receive error: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

fn decode(message: ZmqMessage, signer: &Signer, replay: &Mutex<ReplayGuard>) -> Result<WireMessage, crate::protocol::WireError> {
    let mut guard = replay.lock().unwrap_or_else(|p| p.into_inner());
    WireMessage::decode(message.into_vec(), signer, &mut guard)
}

fn to_zmq(frames: Vec<Bytes>) -> Option<ZmqMessage> {
    ZmqMessage::try_from(frames).ok()
}

/// Forwards `input_reply` values to the cell waiting for them.
async fn read_input_replies(
    mut socket: zeromq::RouterRecvHalf,
    signer: Signer,
    replay: Arc<Mutex<ReplayGuard>>,
    replies: std_mpsc::Sender<String>,
) {
    loop {
        match socket.recv().await {
            Ok(message) => match decode(message, &signer, &replay) {
                Ok(msg) if msg.header.msg_type == "input_reply" => {
                    let value = parse_content::<InputReply>(&msg).map(|r| r.value).unwrap_or_default();
                    if replies.send(value).is_err() {
                        return;
                    }
                }
                Ok(msg) => log::warn!("unexpected {} on stdin", msg.header.msg_type),
                Err(reason) => log::warn!("dropped a message on stdin: {reason}"),
            },
            Err(e) => {
                log::warn!("stdin receive error: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Sends a cell's live output to iopub, as part of the request that is running.
struct IopubSink {
    factory: MessageFactory,
    iopub: Outbox,
    parent: Arc<Mutex<Option<Header>>>,
    silent: Arc<AtomicBool>,
}

impl OutputSink for IopubSink {
    fn emit(&self, output: LiveOutput) {
        if self.silent.load(Ordering::SeqCst) {
            return;
        }
        let parent = self.parent.lock().unwrap_or_else(|p| p.into_inner()).clone();
        self.iopub.send(outputs::live_output_message(output, parent.as_ref(), &self.factory));
    }
}

/// Asks the frontend for a line of input on the stdin channel, for the running cell.
struct CellInput {
    request: WireMessage,
    factory: MessageFactory,
    out: Outbox,
    replies: Arc<Mutex<std_mpsc::Receiver<String>>>,
    cancelled: Arc<AtomicBool>,
}

impl InputSource for CellInput {
    fn read_line(&self, prompt: &str, password: bool) -> Option<String> {
        let replies = self.replies.lock().ok()?;
        while replies.try_recv().is_ok() {} // answers to requests nobody waits for any more
        let request = self.factory.reply(&self.request, "input_request", json!({"prompt": prompt, "password": password}));
        if !self.out.send(request) {
            return None;
        }
        loop {
            if self.cancelled.load(Ordering::SeqCst) {
                return None;
            }
            match replies.recv_timeout(Duration::from_millis(50)) {
                Ok(value) => return Some(value),
                Err(std_mpsc::RecvTimeoutError::Timeout) => continue,
                Err(std_mpsc::RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}

fn char_to_byte(s: &str, chars: usize) -> usize {
    s.char_indices().nth(chars).map_or(s.len(), |(i, _)| i)
}

fn byte_to_char(s: &str, byte: usize) -> usize {
    s.get(..byte.min(s.len())).map_or(0, |p| p.chars().count())
}

/// The version of the rustc that compiles cells, for language_info.
fn rustc_version() -> String {
    std::process::Command::new(crate::toolchain::tool("rustc"))
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_positions_convert_between_chars_and_bytes() {
        let s = "let é = 1;";
        assert_eq!(char_to_byte(s, 5), 6);
        assert_eq!(byte_to_char(s, 6), 5);
        assert_eq!(char_to_byte(s, 100), s.len());
    }
}
