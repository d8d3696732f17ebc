//! The chat destinations of `[notify]` that this module tree delivers to (XMPP, Matrix, Zulip,
//! Discord), each built from its settings table and its secret from the environment. A missing
//! secret is not an error here (a dry run needs none): the destination fails its deliveries with
//! a message that names the variable, and the next run retries them.

use crate::chat::{discord, matrix, xmpp, zulip};
use crate::error::{Error, Result};
use crate::notify::{Destination, Secrets};
use crate::settings::NotifySettings;

/// Appends the chat destinations that `notify` configures, in a fixed order.
pub(crate) fn add(
    notify: &NotifySettings,
    secrets: &Secrets,
    out: &mut Vec<Box<dyn Destination>>,
) -> Result<()> {
    if let Some(x) = &notify.xmpp {
        let security = x.security.clone().unwrap_or_else(|| "starttls".to_owned());
        if !["starttls", "none"].contains(&security.as_str()) {
            return Err(Error::usage(format!(
                "[notify.xmpp] security `{security}`: expected starttls or none"
            )));
        }
        if !x.jid.contains('@') {
            return Err(Error::usage(format!(
                "[notify.xmpp] jid `{}`: expected name@domain",
                x.jid
            )));
        }
        out.push(Box::new(xmpp::XmppDestination {
            account: xmpp::Xmpp {
                jid: x.jid.clone(),
                password: secrets.xmpp_password.clone(),
                server: x.server.clone(),
                port: x.port,
                security,
                ca_file: x.ca_file.clone(),
                nick: x.nick.clone().unwrap_or_else(|| "probtrack".to_owned()),
            },
            rooms: x.rooms.clone(),
            direct: x.direct.unwrap_or(true),
        }));
    }
    if let Some(m) = &notify.matrix {
        if !m.homeserver.starts_with("https://") && !m.homeserver.starts_with("http://") {
            return Err(Error::usage(format!(
                "[notify.matrix] homeserver `{}`: expected an https:// URL",
                m.homeserver
            )));
        }
        out.push(Box::new(matrix::MatrixDestination {
            server: matrix::Matrix {
                homeserver: m.homeserver.clone(),
                token: secrets.matrix_token.clone(),
            },
            rooms: m.rooms.clone(),
            direct: m.direct.unwrap_or(true),
        }));
    }
    if let Some(z) = &notify.zulip {
        out.push(Box::new(zulip::Zulip {
            site: z.site.clone(),
            email: z.email.clone(),
            api_key: secrets.zulip_api_key.clone(),
            stream: z.stream.clone(),
            topic: z.topic.clone().unwrap_or_else(|| "probtrack".to_owned()),
        }));
    }
    if let Some(d) = &notify.discord {
        out.push(Box::new(discord::Discord {
            url: secrets.discord_webhook.clone(),
            username: d.username.clone().unwrap_or_else(|| "probtrack".to_owned()),
        }));
    }
    Ok(())
}

/// The error of a destination whose secret is not set.
pub(crate) fn missing(variable: &str) -> String {
    format!("{variable} is not set (the secret comes from the environment only)")
}
