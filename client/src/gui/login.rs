//! Login screen: username and password fields (click or Tab to switch, Enter to log in),
//! "Log in" and "Register" buttons, and a status line. HTTP runs on a background thread; the
//! answer comes back through a channel, then the client connects with the connect token.

use super::style::*;
use super::{Account, GuiOptions, Screen};
use crate::http::SidecarApi;
use bevy::input::ButtonState;
use bevy::input::keyboard::{Key, KeyboardInput};
use bevy::prelude::*;
use harvest_shared::api::PlayResponse;
use tracing::info;

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
enum Field {
    #[default]
    Username,
    Password,
}

#[derive(Resource, Default)]
struct LoginForm {
    username: String,
    password: String,
    focus: Field,
    status: String,
    busy: bool,
    auto_done: bool,
}

#[derive(Component, Clone, Copy, PartialEq, Eq)]
enum LoginButton {
    Login,
    Register,
    Focus(Field),
}

#[derive(Component)]
struct FieldText(Field);
#[derive(Component)]
struct StatusText;

type LoginResult = Result<(String, String, PlayResponse), String>;

/// The login in flight, if any.
#[derive(Resource, Default)]
struct Pending(Option<crossbeam_channel::Receiver<LoginResult>>);

fn setup(
    mut commands: Commands,
    opts: Res<GuiOptions>,
    mut form: ResMut<LoginForm>,
    mut pending: ResMut<Pending>,
) {
    if let Some(u) = &opts.username {
        form.username = u.clone();
    }
    if let Some(p) = &opts.password {
        form.password = p.clone();
    }
    let field = |f: Field, label: &'static str| {
        (
            Node {
                flex_direction: FlexDirection::Column,
                margin: UiRect::vertical(Val::Px(6.0)),
                ..default()
            },
            children![
                text(label, 16.0, TEXT),
                (
                    Button,
                    LoginButton::Focus(f),
                    Node {
                        width: Val::Px(320.0),
                        height: Val::Px(40.0),
                        padding: UiRect::horizontal(Val::Px(10.0)),
                        align_items: AlignItems::Center,
                        border_radius: BorderRadius::all(Val::Px(4.0)),
                        ..default()
                    },
                    BackgroundColor(FIELD),
                    children![(FieldText(f), text("", 20.0, DARK_TEXT))],
                )
            ],
        )
    };
    commands.spawn((
        DespawnOnExit(Screen::Login),
        Node {
            width: Val::Percent(100.0),
            height: Val::Percent(100.0),
            flex_direction: FlexDirection::Column,
            justify_content: JustifyContent::Center,
            align_items: AlignItems::Center,
            ..default()
        },
        BackgroundColor(BG),
        children![
            text("Harvest Battles", 48.0, RIPE),
            text(format!("sidecar: {}", opts.sidecar_url), 14.0, TEXT),
            field(Field::Username, "Username"),
            field(Field::Password, "Password"),
            (
                Node {
                    flex_direction: FlexDirection::Row,
                    margin: UiRect::top(Val::Px(10.0)),
                    ..default()
                },
                children![
                    button(LoginButton::Login, "Log in", 150.0),
                    button(LoginButton::Register, "Register", 150.0)
                ],
            ),
            (StatusText, text("", 16.0, ERROR)),
        ],
    ));
    if opts.auto_login && !form.auto_done && !form.username.is_empty() {
        form.auto_done = true;
        start(&mut form, &mut pending, &opts, true);
    }
}

fn start(form: &mut LoginForm, pending: &mut Pending, opts: &GuiOptions, register: bool) {
    if form.busy {
        return;
    }
    form.busy = true;
    form.status = if register {
        "Registering...".into()
    } else {
        "Logging in...".into()
    };
    let (tx, rx) = crossbeam_channel::bounded(1);
    pending.0 = Some(rx);
    let (url, ca, user, pass) = (
        opts.sidecar_url.clone(),
        opts.ca_cert.clone(),
        form.username.clone(),
        form.password.clone(),
    );
    std::thread::spawn(move || {
        let result: LoginResult = (|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let api = SidecarApi::new(&url, ca.as_deref()).map_err(|e| e.to_string())?;
                let tokens = if register {
                    api.register_or_login(&user, &pass).await
                } else {
                    api.login(&user, &pass).await
                }
                .map_err(|e| match e.code() {
                    Some("invalid_credentials") => "Wrong username or password.".to_owned(),
                    _ => e.to_string(),
                })?;
                let play = api
                    .play(&tokens.access_token)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok((user, tokens.access_token, play))
            })
        })();
        let _ = tx.send(result);
    });
}

fn typing(
    mut keys: MessageReader<KeyboardInput>,
    mut form: ResMut<LoginForm>,
    mut pending: ResMut<Pending>,
    opts: Res<GuiOptions>,
) {
    for k in keys.read() {
        if k.state != ButtonState::Pressed {
            continue;
        }
        match &k.logical_key {
            Key::Tab => {
                form.focus = if form.focus == Field::Username {
                    Field::Password
                } else {
                    Field::Username
                };
            }
            Key::Enter => start(&mut form, &mut pending, &opts, false),
            Key::Backspace => {
                let f = form.focus;
                field_mut(&mut form, f).pop();
            }
            Key::Character(s) => {
                let f = form.focus;
                let v = field_mut(&mut form, f);
                if v.chars().count() < 128 {
                    v.push_str(s);
                }
            }
            _ => {}
        }
    }
}

fn field_mut(form: &mut LoginForm, f: Field) -> &mut String {
    match f {
        Field::Username => &mut form.username,
        Field::Password => &mut form.password,
    }
}

fn clicks(
    q: Query<(&Interaction, &LoginButton), Changed<Interaction>>,
    mut form: ResMut<LoginForm>,
    mut pending: ResMut<Pending>,
    opts: Res<GuiOptions>,
) {
    for (i, b) in &q {
        if *i != Interaction::Pressed {
            continue;
        }
        match b {
            LoginButton::Login => start(&mut form, &mut pending, &opts, false),
            LoginButton::Register => start(&mut form, &mut pending, &opts, true),
            LoginButton::Focus(f) => form.focus = *f,
        }
    }
}

fn render(
    form: Res<LoginForm>,
    mut fields: Query<(&FieldText, &mut Text), Without<StatusText>>,
    mut status: Query<&mut Text, With<StatusText>>,
    mut boxes: Query<(&LoginButton, &mut BackgroundColor)>,
) {
    for (f, mut t) in &mut fields {
        let caret = if form.focus == f.0 { "|" } else { "" };
        t.0 = match f.0 {
            Field::Username => format!("{}{caret}", form.username),
            Field::Password => format!("{}{caret}", "•".repeat(form.password.chars().count())),
        };
    }
    for mut s in &mut status {
        s.0 = form.status.clone();
    }
    for (b, mut bg) in &mut boxes {
        if let LoginButton::Focus(f) = b {
            bg.0 = if *f == form.focus { FIELD_FOCUS } else { FIELD };
        }
    }
}

/// When the login thread answers: connect, or show why not.
fn finish(world: &mut World) {
    let Some(rx) = world.resource::<Pending>().0.clone() else {
        return;
    };
    let Ok(result) = rx.try_recv() else { return };
    world.resource_mut::<Pending>().0 = None;
    world.resource_mut::<LoginForm>().busy = false;
    match result {
        Ok((username, access_token, play)) => {
            let connected = crate::net::decode_token(&play.connect_token)
                .and_then(|t| crate::net::connect(world, t));
            match connected {
                Ok(_) => {
                    info!(shard = %play.server_addr, zone = %play.zone, "connecting");
                    world.insert_resource(Account {
                        username,
                        access_token,
                    });
                    world
                        .resource_mut::<NextState<Screen>>()
                        .set(Screen::Connecting);
                }
                Err(e) => world.resource_mut::<LoginForm>().status = format!("Cannot connect: {e}"),
            }
        }
        Err(e) => world.resource_mut::<LoginForm>().status = e,
    }
}

/// Show the login screen again with a reason (after a kick or a failed connection).
pub fn back_to_login(world: &mut World, reason: String) {
    world.resource_mut::<LoginForm>().status = reason;
    world.resource_mut::<NextState<Screen>>().set(Screen::Login);
}

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<LoginForm>().init_resource::<Pending>();
    app.add_systems(OnEnter(Screen::Login), setup);
    app.add_systems(
        Update,
        (typing, clicks, render, finish)
            .chain()
            .run_if(in_state(Screen::Login)),
    );
    app.add_systems(Update, hover);
}
