//! Nothing outside the root is ever served, whatever the spelling. Each test puts a secret
//! file beside the served folder and tries to reach it; every mode is checked.

mod support;

use support::{Site, TestServer};
use weblab::Mode;

every_mode!(
    dot_dot_never_leaves_root,
    encoded_dot_dot_never_leaves_root,
    double_encoded_dot_dot_is_decoded_only_once,
    backslashes_never_leave_root,
    absolute_paths_stay_inside_root,
    a_symlink_out_of_the_root_is_refused,
    a_symlink_inside_the_root_works,
    dot_dot_inside_the_root_is_refused_too,
);

/// A folder holding `secret.txt` and the served folder `www/`.
struct Jail {
    outer: Site,
    server: TestServer,
}

const SECRET: &str = "TOP-SECRET";

fn jail(mode: Mode) -> Jail {
    let outer = Site::new()
        .file("secret.txt", SECRET)
        .file("www/index.html", "public")
        .file("www/sub/page.html", "page");
    let server = TestServer::start(&outer.path().join("www"), mode);
    Jail { outer, server }
}

impl Jail {
    #[track_caller]
    fn assert_refused(&self, target: &str) {
        let exchange = self.server.get(target);
        if !matches!(exchange.status(), 400 | 403 | 404) {
            exchange.fail(&format!("400, 403 or 404 for {target}"));
        }
        exchange.assert_body_lacks(SECRET);
    }
}

fn dot_dot_never_leaves_root(mode: Mode) {
    let jail = jail(mode);
    for target in [
        "/../secret.txt",
        "/sub/../../secret.txt",
        "/./../secret.txt",
        "/..",
        "/../",
        "/sub/../../../../../../etc/passwd",
    ] {
        jail.assert_refused(target);
    }
}

fn encoded_dot_dot_never_leaves_root(mode: Mode) {
    let jail = jail(mode);
    for target in [
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/.%2e/secret.txt",
        "/sub/%2e%2e/%2e%2e/secret.txt",
        "/%2e%2e%5csecret.txt",
    ] {
        jail.assert_refused(target);
    }
}

fn double_encoded_dot_dot_is_decoded_only_once(mode: Mode) {
    let jail = jail(mode);
    jail.assert_refused("/%252e%252e/secret.txt");
    jail.assert_refused("/%252e%252e%252fsecret.txt");
}

fn backslashes_never_leave_root(mode: Mode) {
    let jail = jail(mode);
    for target in [
        "/..\\secret.txt",
        "/%5c..%5csecret.txt",
        "/sub\\..\\..\\secret.txt",
        "/..%5csecret.txt",
    ] {
        jail.assert_refused(target);
    }
}

fn absolute_paths_stay_inside_root(mode: Mode) {
    let jail = jail(mode);
    let secret = jail.outer.path().join("secret.txt");
    let secret = secret.to_string_lossy().replace('\\', "/");
    jail.assert_refused(&format!("/{}", secret.trim_start_matches('/')));
    jail.assert_refused(&format!("//{}", secret.trim_start_matches('/')));
    jail.assert_refused("/C:/Windows/win.ini");
    jail.assert_refused("http://host/../secret.txt");
}

fn a_symlink_out_of_the_root_is_refused(mode: Mode) {
    let outer = Site::new().file("secret.txt", SECRET).dir("www");
    let outer = match outer.symlink("www/leak.txt", "../secret.txt") {
        Some(site) => site,
        None => return eprintln!("skipped: this platform cannot create symlinks here"),
    };
    let Some(outer) = outer.symlink("www/up", "..") else {
        return eprintln!("skipped: this platform cannot create symlinks here");
    };
    let server = TestServer::start(&outer.path().join("www"), mode);
    for target in ["/leak.txt", "/up/secret.txt", "/up/"] {
        let exchange = server.get(target);
        if !matches!(exchange.status(), 403 | 404) {
            exchange.fail(&format!("403 or 404 for {target}"));
        }
        exchange.assert_body_lacks(SECRET);
    }
}

fn a_symlink_inside_the_root_works(mode: Mode) {
    let site = Site::new().file("real/page.html", "real page");
    let Some(site) = site.symlink("alias.html", "real/page.html") else {
        return eprintln!("skipped: this platform cannot create symlinks here");
    };
    let Some(site) = site.symlink("folder", "real") else {
        return eprintln!("skipped: this platform cannot create symlinks here");
    };
    let server = TestServer::start(site.path(), mode);
    server
        .get("/alias.html")
        .assert_status(200)
        .assert_body("real page");
    server
        .get("/folder/page.html")
        .assert_status(200)
        .assert_body("real page");
}

fn dot_dot_inside_the_root_is_refused_too(mode: Mode) {
    // Refusing every `..` is simpler to get right than resolving it.
    let jail = jail(mode);
    jail.server.get("/sub/../index.html").assert_status(403);
}
