//! The chat destinations of `[notify]` that this module tree delivers to (XMPP, Matrix, Zulip,
//! Discord), each built from its settings table and its secret from the environment. A missing
//! secret is not an error here (a dry run needs none): the destination fails its deliveries with
//! a message that names the variable, and the next run retries them.

use crate::chat::{discord, matrix, xmpp, zulip};
use crate::error::{Error, Result};
use crate::notify::{Destination, Secrets};
use crate::settings::{MatrixSettings, NotifySettings, XmppSettings};

/// Appends the chat destinations that `notify` configures, in a fixed order.
pub(crate) fn add(
    notify: &NotifySettings,
    secrets: &Secrets,
    out: &mut Vec<Box<dyn Destination>>,
) -> Result<()> {
    if let Some(x) = xmpp(notify, secrets)? {
        out.push(Box::new(x));
    }
    if let Some(m) = matrix(notify, secrets)? {
        out.push(Box::new(m));
    }
    if let Some(z) = zulip(notify, secrets) {
        out.push(Box::new(z));
    }
    if let Some(d) = &notify.discord {
        out.push(Box::new(discord::Discord {
            url: secrets.discord_webhook.clone(),
            username: d.username.clone().unwrap_or_else(|| "probtrack".to_owned()),
        }));
    }
    Ok(())
}

/// The destinations that can tell one person directly (`notify --digest`): XMPP, Matrix and
/// Zulip without their rooms or stream, whatever their `direct` setting says.
pub(crate) fn direct(
    notify: &NotifySettings,
    secrets: &Secrets,
) -> Result<Vec<Box<dyn Destination>>> {
    let mut out: Vec<Box<dyn Destination>> = Vec::new();
    if let Some(mut x) = xmpp(notify, secrets)? {
        x.rooms.clear();
        x.direct = true;
        out.push(Box::new(x));
    }
    if let Some(mut m) = matrix(notify, secrets)? {
        m.rooms.clear();
        m.direct = true;
        out.push(Box::new(m));
    }
    if let Some(mut z) = zulip(notify, secrets) {
        z.stream = None;
        z.direct = true;
        out.push(Box::new(z));
    }
    Ok(out)
}

fn zulip(notify: &NotifySettings, secrets: &Secrets) -> Option<zulip::Zulip> {
    let z = notify.zulip.as_ref()?;
    Some(zulip::Zulip {
        site: z.site.clone(),
        email: z.email.clone(),
        api_key: secrets.zulip_api_key.clone(),
        stream: Some(z.stream.clone()),
        topic: z.topic.clone().unwrap_or_else(|| "probtrack".to_owned()),
        direct: z.direct.unwrap_or(true),
        took: Vec::new(),
    })
}

fn xmpp(notify: &NotifySettings, secrets: &Secrets) -> Result<Option<xmpp::XmppDestination>> {
    let Some(x) = &notify.xmpp else {
        return Ok(None);
    };
    Ok(Some(xmpp::XmppDestination {
        account: xmpp_account(x, "[notify.xmpp]", secrets)?,
        rooms: x.rooms.clone(),
        direct: x.direct.unwrap_or(true),
        took: Vec::new(),
    }))
}

/// The account of an XMPP settings table (`section` names it in errors), checked.
pub(crate) fn xmpp_account(
    x: &XmppSettings,
    section: &str,
    secrets: &Secrets,
) -> Result<xmpp::Xmpp> {
    let security = x.security.clone().unwrap_or_else(|| "starttls".to_owned());
    if !["starttls", "none"].contains(&security.as_str()) {
        return Err(Error::usage(format!(
            "{section} security `{security}`: expected starttls or none"
        )));
    }
    if !x.jid.contains('@') {
        return Err(Error::usage(format!(
            "{section} jid `{}`: expected name@domain",
            x.jid
        )));
    }
    Ok(xmpp::Xmpp {
        jid: x.jid.clone(),
        password: secrets.xmpp_password.clone(),
        server: x.server.clone(),
        port: x.port,
        security,
        ca_file: x.ca_file.clone(),
        nick: x.nick.clone().unwrap_or_else(|| "probtrack".to_owned()),
    })
}

fn matrix(notify: &NotifySettings, secrets: &Secrets) -> Result<Option<matrix::MatrixDestination>> {
    let Some(m) = &notify.matrix else {
        return Ok(None);
    };
    Ok(Some(matrix::MatrixDestination {
        server: matrix_server(m, "[notify.matrix]", secrets)?,
        rooms: m.rooms.clone(),
        direct: m.direct.unwrap_or(true),
    }))
}

/// The homeserver of a Matrix settings table (`section` names it in errors), checked.
pub(crate) fn matrix_server(
    m: &MatrixSettings,
    section: &str,
    secrets: &Secrets,
) -> Result<matrix::Matrix> {
    if !m.homeserver.starts_with("https://") && !m.homeserver.starts_with("http://") {
        return Err(Error::usage(format!(
            "{section} homeserver `{}`: expected an https:// URL",
            m.homeserver
        )));
    }
    Ok(matrix::Matrix {
        homeserver: m.homeserver.clone(),
        token: secrets.matrix_token.clone(),
    })
}

/// The error of a destination whose secret is not set.
pub(crate) fn missing(variable: &str) -> String {
    format!("{variable} is not set (the secret comes from the environment only)")
}
