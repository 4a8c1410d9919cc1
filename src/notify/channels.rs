//! Email (SMTP, lettre) and WhatsApp Cloud API senders. Blocking: the delivery thread only.

use std::time::Duration;

use lettre::message::{Mailbox, SinglePart};
use lettre::{Message, SmtpTransport, Transport};
use serde_json::json;

use crate::config::NotifyArgs;
use crate::providers::http;

/// The configured channels.
pub struct Channels {
    smtp: Option<(SmtpTransport, Mailbox)>,
    whatsapp: Option<WhatsApp>,
}

struct WhatsApp {
    agent: ureq::Agent,
    base: String,
    phone_number_id: String,
    token: crate::crypto::Secret,
}

/// `--smtp-url` as lettre wants it: `smtp://` means STARTTLS required unless `tls=` says
/// otherwise; `tls=none` means plain (a local relay).
pub fn smtp_url_for_lettre(url: &str) -> String {
    if !url.starts_with("smtp://") {
        return url.to_string();
    }
    if url.contains("tls=none") {
        return url.replace("?tls=none", "").replace("&tls=none", "");
    }
    if url.contains("tls=") {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}tls=required")
}

impl Channels {
    /// Channels from the flags; a bad SMTP URL or sender is a configuration error.
    pub fn from_args(args: &NotifyArgs, timeout: Duration) -> crate::Result<Channels> {
        let smtp = match (&args.smtp_url, &args.email_from) {
            (Some(url), Some(from)) => {
                let transport = SmtpTransport::from_url(&smtp_url_for_lettre(url))
                    .map_err(|e| crate::Error::Config(format!("--smtp-url: {e}")))?
                    .timeout(Some(timeout))
                    .build();
                let from: Mailbox = from
                    .parse()
                    .map_err(|e| crate::Error::Config(format!("--email-from: {e}")))?;
                Some((transport, from))
            }
            _ => None,
        };
        let whatsapp = match (&args.whatsapp_phone_number_id, &args.whatsapp_token) {
            (Some(id), Some(token)) => Some(WhatsApp {
                agent: http::agent(timeout),
                base: args.whatsapp_api_url.trim_end_matches('/').to_string(),
                phone_number_id: id.clone(),
                token: crate::crypto::Secret::new(token.clone()),
            }),
            _ => None,
        };
        Ok(Channels { smtp, whatsapp })
    }

    /// Send an email.
    pub fn email(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        let (transport, from) = self.smtp.as_ref().ok_or("email is not configured")?;
        let to: Mailbox = to.parse().map_err(|e| format!("recipient {to}: {e}"))?;
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(subject)
            // text/plain; charset=utf-8 with MIME-Version: names and notes are not ASCII.
            .singlepart(SinglePart::plain(body.to_string()))
            .map_err(|e| e.to_string())?;
        transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| format!("SMTP: {e}"))
    }

    /// Send a WhatsApp text message to an E.164 number.
    pub fn whatsapp(&self, to: &str, text: &str) -> Result<(), String> {
        let wa = self.whatsapp.as_ref().ok_or("WhatsApp is not configured")?;
        let body = json!({
            "messaging_product": "whatsapp",
            "to": to.trim_start_matches('+'),
            "type": "text",
            "text": {"preview_url": false, "body": text},
        });
        let answer = wa
            .agent
            .post(format!("{}/{}/messages", wa.base, wa.phone_number_id))
            .header("Authorization", format!("Bearer {}", wa.token.expose()))
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .map_err(|e| http::describe(&e))
            .and_then(http::read)?;
        if (200..300).contains(&answer.status) {
            Ok(())
        } else {
            Err(format!(
                "WhatsApp answered HTTP {}: {}",
                answer.status,
                crate::providers::cut(&answer.body, 300)
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn smtp_urls_default_to_starttls() {
        for (given, want) in [
            (
                "smtp://u:p@mail.example:587",
                "smtp://u:p@mail.example:587?tls=required",
            ),
            ("smtp://relay:25?tls=none", "smtp://relay:25"),
            (
                "smtps://u:p@mail.example:465",
                "smtps://u:p@mail.example:465",
            ),
            (
                "smtp://relay:25?tls=opportunistic",
                "smtp://relay:25?tls=opportunistic",
            ),
        ] {
            assert_eq!(super::smtp_url_for_lettre(given), want);
        }
    }
}
