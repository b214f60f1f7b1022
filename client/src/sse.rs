//! A minimal reader of OpenAI-style server-sent events: `data: <json>` lines ending with `data: [DONE]`.

/// One parsed event.
#[derive(Debug, Clone, PartialEq)]
pub enum SseEvent {
    /// A JSON payload.
    Data(serde_json::Value),
    /// The end of the stream.
    Done,
}

/// Splits complete lines off `buffer` and parses their `data:` payloads; keeps an incomplete tail.
pub fn drain(buffer: &mut String) -> Vec<Result<SseEvent, serde_json::Error>> {
    let mut events = Vec::new();
    while let Some(pos) = buffer.find('\n') {
        let line: String = buffer.drain(..=pos).collect();
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(data) = line.strip_prefix("data:") {
            let data = data.trim_start();
            if data == "[DONE]" {
                events.push(Ok(SseEvent::Done));
            } else {
                events.push(serde_json::from_str(data).map(SseEvent::Data));
            }
        }
    }
    events
}

/// The text delta of a chat completion chunk.
pub fn delta_text(chunk: &serde_json::Value) -> Option<&str> {
    chunk["choices"][0]["delta"]["content"].as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events_across_reads() {
        let mut buffer = String::from("data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DO");
        let events = drain(&mut buffer);
        assert_eq!(events.len(), 1);
        let Ok(SseEvent::Data(chunk)) = &events[0] else { panic!("data event") };
        assert_eq!(delta_text(chunk), Some("Hi"));
        buffer.push_str("NE]\n\n");
        assert!(matches!(drain(&mut buffer).as_slice(), [Ok(SseEvent::Done)]));
        assert!(buffer.is_empty());
        let mut bad = String::from("data: {oops\n");
        assert!(drain(&mut bad)[0].is_err());
    }
}
