//! Turns what a cell's process writes (stdout and stderr lines, display markers) into iopub
//! messages, in the order it was written.

use serde_json::json;
use strata_markers::marker::Marker;

use crate::engine::LiveOutput;
use crate::protocol::{Header, MessageFactory, WireMessage};

/// The iopub message for one line of a cell's output.
pub fn live_output_message(output: LiveOutput, parent: Option<&Header>, factory: &MessageFactory) -> WireMessage {
    match output {
        LiveOutput::Stdout(line) => match Marker::parse(&line) {
            Some(Marker::Text { text }) => stream(factory, parent, "stdout", text),
            Some(marker) => display_message(marker, parent, factory).unwrap_or_else(|| line_stream(factory, parent, "stdout", line)),
            None => line_stream(factory, parent, "stdout", line),
        },
        LiveOutput::Stderr(line) => match Marker::parse(&line) {
            Some(Marker::Text { text }) => stream(factory, parent, "stderr", text),
            _ => line_stream(factory, parent, "stderr", line),
        },
    }
}

fn line_stream(factory: &MessageFactory, parent: Option<&Header>, name: &str, mut line: String) -> WireMessage {
    line.push('\n');
    stream(factory, parent, name, line)
}

fn stream(factory: &MessageFactory, parent: Option<&Header>, name: &str, text: String) -> WireMessage {
    factory.iopub(parent, "stream", json!({"name": name, "text": text}))
}

/// The iopub message for a display marker; `None` for markers that are not about display
/// (the engine consumes those before they get here).
fn display_message(marker: Marker, parent: Option<&Header>, factory: &MessageFactory) -> Option<WireMessage> {
    Some(match marker {
        Marker::Display { data, metadata, display_id } => {
            let transient = match display_id {
                Some(id) => json!({"display_id": id}),
                None => json!({}),
            };
            factory.iopub(parent, "display_data", json!({"data": data, "metadata": metadata, "transient": transient}))
        }
        Marker::Update { data, metadata, display_id } => factory.iopub(
            parent,
            "update_display_data",
            json!({"data": data, "metadata": metadata, "transient": {"display_id": display_id}}),
        ),
        Marker::Clear { wait } => factory.iopub(parent, "clear_output", json!({"wait": wait})),
        Marker::Panic { .. } | Marker::CellFailed { .. } | Marker::Text { .. } | Marker::StderrAsked { .. } | Marker::StderrBarrier { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    #[test]
    fn plain_lines_become_streams_and_markers_become_displays() {
        let f = MessageFactory::new();
        let m = live_output_message(LiveOutput::Stdout("hi".into()), None, &f);
        assert_eq!(m.header.msg_type, "stream");
        assert_eq!(m.content["text"], "hi\n");
        let m = live_output_message(LiveOutput::Stderr("oops".into()), None, &f);
        assert_eq!(m.content["name"], "stderr");
        let partial = Marker::Text { text: "50%".into() }.to_line();
        let m = live_output_message(LiveOutput::Stderr(partial), None, &f);
        assert_eq!((m.content["name"].as_str(), m.content["text"].as_str()), (Some("stderr"), Some("50%")));

        let mut data = Map::new();
        data.insert("text/plain".into(), "x".into());
        let line = Marker::Update { data, metadata: Map::new(), display_id: "id7".into() }.to_line();
        let m = live_output_message(LiveOutput::Stdout(line), None, &f);
        assert_eq!(m.header.msg_type, "update_display_data");
        assert_eq!(m.content["transient"]["display_id"], "id7");
        let m = live_output_message(LiveOutput::Stdout(Marker::Clear { wait: true }.to_line()), None, &f);
        assert_eq!(m.header.msg_type, "clear_output");
        assert_eq!(m.content["wait"], true);
    }
}
