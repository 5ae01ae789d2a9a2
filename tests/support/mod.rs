//! The test harness every test file shares: start a server, build a site, exchange raw
//! bytes, and assert with failure messages that show the request, the response and what
//! was expected.
//!
//! ```ignore
//! let site = Site::new().file("index.html", "hello");
//! let server = TestServer::start(site.path(), Mode::Pool);
//! server.get("/").assert_status(200).assert_body("hello");
//! ```
//!
//! | file | what it gives a test |
//! |------|----------------------|
//! | `site.rs` | [`Site`]: a temporary folder to serve, one line per file |
//! | `server.rs` | [`TestServer`]: the kit's server in-process or as the real binary |
//! | `external.rs` | [`TestServer::external`]: any implementation, from a command line |
//! | `exchange.rs` | [`exchange`], [`Exchange`] and its assertions, [`ResponseReader`] |
//! | `platform.rs` | measurements only some platforms offer, named as such |
#![allow(dead_code)] // each test file uses a different part of the harness

mod exchange;
mod external;
mod platform;
mod server;
mod site;

// Each test file uses a different part of the harness.
#[allow(unused_imports)]
pub use exchange::*;
#[allow(unused_imports)]
pub use external::*;
#[allow(unused_imports)]
pub use platform::*;
#[allow(unused_imports)]
pub use server::*;
#[allow(unused_imports)]
pub use site::*;

use std::time::Duration;

/// How long any single test read may wait before the test fails instead of hanging.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Runs one test body once in every server mode: `every_mode!(name1, name2)` turns each
/// `fn name(mode: Mode)` into the tests `name::single`, `name::threaded` and `name::pool`.
#[macro_export]
macro_rules! every_mode {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn single() {
                super::$name(weblab::Mode::Single)
            }
            #[test]
            fn threaded() {
                super::$name(weblab::Mode::Threaded)
            }
            #[test]
            fn pool() {
                super::$name(weblab::Mode::Pool)
            }
        }
    )*};
}
