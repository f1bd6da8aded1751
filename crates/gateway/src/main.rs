//! The `mcp-gateway` binary: command line, logging, signals. The work is in
//! the library.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use mcp_gateway::config::{self, Config};
use mcp_gateway::gateway::Gateway;
use mcp_gateway::server::{self, App};

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
    let mut config: Config = loaded.config;
    if let Some(h) = args.host {
        config.server.host = h;
    }
    if let Some(p) = args.port {
        config.server.port = p;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(config, args.stdio));
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config, stdio: bool) -> anyhow::Result<()> {
    let gw = Gateway::new(config);
    gw.start();
    let app = App::new(gw.clone());
    if stdio {
        tracing::info!(backends = gw.backend_names().len(), "serving MCP on stdio");
        tokio::select! {
            r = server::stdio::run(app) => r?,
            _ = shutdown_signal() => {},
        }
    } else {
        let addr = format!("{}:{}", gw.config.server.host, gw.config.server.port);
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
        let deadline = gw.config.server.shutdown_timeout;
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
    let deadline = gw.config.server.shutdown_timeout;
    if tokio::time::timeout(deadline, gw.shutdown()).await.is_err() {
        tracing::warn!("backends did not stop within {deadline:?}");
    }
    Ok(())
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
