//! `meterscope config`: the console's keymap and theme checked and shown as
//! a technician would before opening the console, with the configuration
//! directory and the environment under the test's control.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::binary;

/// Runs meterscope with `config_home` as the configuration directory and
/// no stray METERSCOPE_ or NO_COLOR settings from the caller.
fn config(config_home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(binary());
    command
        .arg("config")
        .args(args)
        .env("XDG_CONFIG_HOME", config_home)
        .env("HOME", config_home)
        .env_remove("NO_COLOR")
        .env_remove("METERSCOPE_KEYMAP")
        .env_remove("METERSCOPE_THEME");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run meterscope config")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_says_ok_for_the_built_in_and_partial_files() {
    let home = tempfile::tempdir().unwrap();
    let out = config(home.path(), &["check"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "OK: the keymap and the theme load\n");
    let mine = home.path().join("mine.ron");
    std::fs::write(&mine, "// just one\n(save: [\"ctrl-s\"])\n").unwrap();
    let out = config(
        home.path(),
        &[
            "check",
            "--keymap",
            mine.to_str().unwrap(),
            "--theme",
            "mono",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn check_refuses_a_broken_file_with_its_line_and_column() {
    let home = tempfile::tempdir().unwrap();
    let broken = home.path().join("broken.ron");
    std::fs::write(
        &broken,
        "(\n    quit: [\"q\"],\n    help: [\"f1\", \"hyper-h\"],\n)\n",
    )
    .unwrap();
    let out = config(
        home.path(),
        &["check", "--keymap", broken.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: {}:3:18: unknown key 'hyper-h'",
            broken.display()
        )),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    // Through the variable, and the same for a theme.
    std::fs::write(
        &broken,
        "(\n    alarm: (fg: \"red\", modifiers: [\"blink\"]),\n)\n",
    )
    .unwrap();
    let out = config(
        home.path(),
        &["check"],
        &[("METERSCOPE_THEME", broken.to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: {}:2:36: unknown modifier 'blink'",
            broken.display()
        )),
        "{stderr}"
    );
    let out = config(home.path(), &["check", "--theme", "sepia"], &[]);
    assert!(
        text(&out.stderr).contains("no theme 'sepia': give a built-in name"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_config_directory_files_are_used_and_named() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("meterscope");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("keymap.ron"), "(freeze: [\"z\"])").unwrap();
    std::fs::write(
        dir.join("theme.ron"),
        "(alarm: (fg: \"#ff0000\", modifiers: [\"bold\"]))",
    )
    .unwrap();
    let out = config(home.path(), &["keys"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name}: {stdout}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let user_keymap = dir.join("keymap.ron").display().to_string();
    assert_eq!(line("freeze"), format!("freeze z {user_keymap}"));
    assert_eq!(line("quit"), "quit q, ctrl-c built-in default");
    assert_eq!(stdout.lines().count(), 26);
    // vim under the same user file.
    let out = config(home.path(), &["keys", "--keymap", "vim"], &[]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("bottom            G, end                    built-in vim"),
        "{stdout}"
    );

    let out = config(home.path(), &["theme"], &[]);
    let stdout = text(&out.stdout);
    let alarm = stdout.lines().find(|l| l.starts_with("alarm ")).unwrap();
    assert!(
        alarm.contains("(fg: \"#ff0000\", modifiers: [\"bold\"])"),
        "{alarm}"
    );
    assert!(
        alarm.ends_with(&dir.join("theme.ron").display().to_string()),
        "{alarm}"
    );
    let good = stdout.lines().find(|l| l.starts_with("good ")).unwrap();
    assert!(
        good.contains("(fg: \"green\", modifiers: [\"bold\"])"),
        "{good}"
    );
    assert!(good.ends_with("built-in default"), "{good}");
    assert_eq!(stdout.lines().count(), 20);

    // NO_COLOR strips the colours and keeps the modifiers.
    let out = config(home.path(), &["theme"], &[("NO_COLOR", "1")]);
    let stdout = text(&out.stdout);
    assert!(!stdout.contains("fg:"), "{stdout}");
    let alarm = stdout.lines().find(|l| l.starts_with("alarm ")).unwrap();
    assert!(alarm.contains("(modifiers: [\"bold\"])"), "{alarm}");
    assert!(stdout.ends_with("NO_COLOR is set: every colour is stripped, the modifiers kept\n"));
    // An empty NO_COLOR asks for nothing.
    let out = config(home.path(), &["theme"], &[("NO_COLOR", "")]);
    assert!(text(&out.stdout).contains("fg:"));
}

/// The README's example keymap and theme, as a user would save them.
#[test]
fn the_readme_examples_load() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let section = &readme[readme.find("## Keys and themes").expect("the section")..];
    let example = |first_line: &str| {
        let start = section.find(first_line).expect("the example");
        let end = start + section[start..].find("```").expect("its end");
        section[start..end].to_string()
    };
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("meterscope");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("keymap.ron"), example("// keymap.ron")).unwrap();
    std::fs::write(dir.join("theme.ron"), example("// theme.ron")).unwrap();
    let out = config(home.path(), &["keys"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("save              ctrl-s"), "{stdout}");
    assert!(stdout.contains("freeze            f, z"), "{stdout}");
    let out = config(home.path(), &["theme"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("(fg: \"208\")"),
        "{}",
        text(&out.stdout)
    );
}
