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

/// Reads a byte stream into SSE lines: bytes wait in `pending` until a line is complete, so a character split
/// across two network reads is decoded whole instead of as two U+FFFD (which would change the text and break the
/// receipt's output hash).
#[derive(Debug, Default)]
pub struct LineReader {
    pending: Vec<u8>,
    lines: String,
}

impl LineReader {
    /// Adds a network read and returns the events of the lines it completed.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Result<SseEvent, serde_json::Error>> {
        self.pending.extend_from_slice(bytes);
        if let Some(end) = self.pending.iter().rposition(|b| *b == b'\n') {
            let complete: Vec<u8> = self.pending.drain(..=end).collect();
            self.lines.push_str(&String::from_utf8_lossy(&complete));
        }
        drain(&mut self.lines)
    }
}

/// The text delta of a chat completion chunk.
pub fn delta_text(chunk: &serde_json::Value) -> Option<&str> {
    chunk["choices"][0]["delta"]["content"].as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_split_across_reads_is_decoded_whole() {
        let line = "data: {\"choices\":[{\"delta\":{\"content\":\"€\"}}]}\n".as_bytes();
        let split = line.iter().position(|b| *b == 0xE2).expect("the euro sign") + 1;
        let mut reader = LineReader::default();
        assert!(reader.push(&line[..split]).is_empty());
        let events = reader.push(&line[split..]);
        let Some(Ok(SseEvent::Data(chunk))) = events.first() else { panic!("{events:?}") };
        assert_eq!(delta_text(chunk), Some("€"));
    }

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
