//! The `mcp-gateway` binary: command line, logging, signals. The work is in
//! the library.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use mcp_gateway::config::{self, Config};
use mcp_gateway::gateway::Gateway;
use mcp_gateway::reload;
use mcp_gateway::server::{self, App};
use mcp_gateway::session::Scope;

#[derive(Parser)]
#[command(
    name = "mcp-gateway",
    version,
    about = "One MCP endpoint in front of every MCP server"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (the default).
    Serve(ServeArgs),
    /// Validate the config and print it resolved, with secrets redacted.
    Check {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Tell the running gateway to reload its config file now.
    Reload {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Where the gateway listens (default: from the config).
        #[arg(long)]
        host: Option<String>,
        #[arg(long)]
        port: Option<u16>,
    },
}

#[derive(clap::Args, Clone)]
struct ServeArgs {
    /// Config file (else $MCP_GATEWAY_CONFIG, ./gateway.yaml, ~/.config/mcp-gateway/gateway.yaml, /etc/mcp-gateway/gateway.yaml).
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    /// Listen address (overrides server.host).
    #[arg(long)]
    host: Option<String>,
    /// Listen port (overrides server.port).
    #[arg(long)]
    port: Option<u16>,
    /// Serve MCP on stdin/stdout instead of HTTP.
    #[arg(long)]
    stdio: bool,
    /// With --stdio: speak for this one backend (its own tools, resources
    /// and prompts, names unchanged), like /mcp/{backend} over HTTP.
    #[arg(long, requires = "stdio")]
    backend: Option<String>,
    /// Log filter: error, warn, info, debug, trace, or a tracing directive.
    #[arg(long, default_value = "info", env = "MCP_GATEWAY_LOG")]
    log_level: String,
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Check { config }) => check(config.or(cli.serve.config)),
        Some(Command::Reload { config, host, port }) => {
            reload_running(config.or(cli.serve.config), host, port)
        }
        Some(Command::Serve(mut args)) => {
            args.config = args.config.or(cli.serve.config);
            serve(args)
        }
        None => serve(cli.serve),
    }
}

fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn load(path: Option<PathBuf>) -> Result<config::Loaded, config::ConfigError> {
    let found = config::discover(path.as_deref(), &env_lookup)?;
    config::load(found.as_deref(), &env_lookup)
}

fn check(path: Option<PathBuf>) -> ExitCode {
    match load(path) {
        Ok(l) => {
            for w in &l.warnings {
                eprintln!("warning: {w}");
            }
            if let Some(p) = &l.path {
                eprintln!("config: {}", p.display());
            }
            print!(
                "{}",
                serde_yaml_ng::to_string(&l.config).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn reload_running(path: Option<PathBuf>, host: Option<String>, port: Option<u16>) -> ExitCode {
    let server = match load(path) {
        Ok(l) => l.config.server,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let url = format!(
        "http://{}:{}/admin/reload",
        host.unwrap_or(server.host),
        port.unwrap_or(server.port)
    );
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match reqwest::Client::new().post(&url).send().await {
            Ok(resp) => {
                let ok = resp.status().is_success();
                println!("{}", resp.text().await.unwrap_or_default());
                if ok {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
            Err(e) => {
                eprintln!("error: cannot reach the gateway at {url}: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

fn init_logging(args: &ServeArgs) {
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => builder.with_ansi(false).init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    init_logging(&args);
    let loaded = match load(args.config.clone()) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("config error: {e}");
            return ExitCode::from(2);
        }
    };
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    let overrides = Overrides {
        host: args.host.clone(),
        port: args.port,
    };
    let mut config: Config = loaded.config;
    overrides.apply(&mut config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.server.worker_threads)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(
        config,
        loaded.path,
        overrides,
        args.stdio,
        args.backend,
    ));
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(
    config: Config,
    path: Option<PathBuf>,
    cli: Overrides,
    stdio: bool,
    backend: Option<String>,
) -> anyhow::Result<()> {
    let gw = Gateway::new(config);
    gw.start();
    let reloader = path.map(|path| {
        reload::spawn(
            gw.clone(),
            reload::Source {
                path,
                overrides: Box::new(move |c: &mut Config| cli.apply(c)),
            },
        )
    });
    let app = App::new(gw.clone(), reloader);
    if stdio {
        let scope = match backend {
            Some(name) if gw.backend(&name).is_some() => Scope::Backend(name),
            Some(name) => anyhow::bail!(
                "--backend {name}: no such backend (backends: {})",
                gw.backend_names().join(", ")
            ),
            None if gw.config().meta_mcp.enabled => Scope::Meta,
            None => Scope::Direct,
        };
        tracing::info!(
            backends = gw.backend_names().len(),
            ?scope,
            "serving MCP on stdio"
        );
        tokio::select! {
            r = server::stdio::run(app, scope) => r?,
            _ = shutdown_signal() => {},
        }
    } else {
        let addr = format!("{}:{}", gw.config().server.host, gw.config().server.port);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
        let local = listener.local_addr()?;
        tracing::info!(
            "listening on http://{local}/mcp ({} backends)",
            gw.backend_names().len()
        );
        // Stop accepting on the signal; let in-flight requests finish, but
        // never wait past shutdown_timeout (open SSE streams would hold on).
        let signalled = std::sync::Arc::new(tokio::sync::Notify::new());
        let notify = signalled.clone();
        let serve = server::serve(listener, app, async move {
            shutdown_signal().await;
            notify.notify_one();
        });
        tokio::pin!(serve);
        let deadline = gw.config().server.shutdown_timeout;
        tokio::select! {
            r = &mut serve => r?,
            _ = signalled.notified() => {
                if tokio::time::timeout(deadline, &mut serve).await.is_err() {
                    tracing::warn!("in-flight requests and streams still open after {deadline:?}; closing them");
                }
            }
        }
    }
    tracing::info!("shutting down: stopping backends");
    let deadline = gw.config().server.shutdown_timeout;
    if tokio::time::timeout(deadline, gw.shutdown()).await.is_err() {
        tracing::warn!("backends did not stop within {deadline:?}");
    }
    Ok(())
}

/// Command-line settings that win over the config file, on every (re)load.
#[derive(Clone)]
struct Overrides {
    host: Option<String>,
    port: Option<u16>,
}

impl Overrides {
    fn apply(&self, c: &mut Config) {
        if let Some(h) = &self.host {
            c.server.host = h.clone();
        }
        if let Some(p) = self.port {
            c.server.port = p;
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
    tracing::info!("signal received");
}
