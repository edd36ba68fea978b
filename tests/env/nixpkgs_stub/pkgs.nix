# The packages flake.nix uses. Each is an unbuildable derivation (evaluation and `drvPath` only)
# carrying the attributes flake.nix reads, plus `programs`: the executables the real package puts
# on PATH (a stub-only attribute, read by tests/env to check that the dev shell has every tool).
# Each names the nixpkgs file that defines it. process-compose's version is the pinned revision's;
# the others have its major (Valkey 9, Postgres 18) or minor (Python 3.11), their patch levels are
# stand-ins.
{ lib, system }:
let
  isDarwin = builtins.elem system [ "x86_64-darwin" "aarch64-darwin" ];

  stub =
    attrs:
    let
      drv = derivation (
        builtins.removeAttrs attrs [ "programs" "meta" "passthru" "env" ]
        // (attrs.env or { })
        // {
          name = attrs.name or "${attrs.pname}-${attrs.version}";
          inherit system;
          builder = "/bin/sh";
          args = [ "-c" "echo 'tests/env nixpkgs stub: evaluation only' >&2; exit 1" ];
        }
      );
    in
    drv
    // (attrs.passthru or { })
    // {
      inherit (attrs) programs;
      meta = attrs.meta or { };
      pname = attrs.pname or attrs.name;
      version = attrs.version or "";
      env = attrs.env or { };
      # nixpkgs' overrideAttrs, in its `previousAttrs: { ... }` form.
      overrideAttrs = f: stub (attrs // f attrs);
    };

  # stdenv's initial PATH (pkgs/stdenv/generic/common-path.nix), which mkShell puts on PATH too.
  stdenvPrograms = [
    "bash" "sh"
    "cat" "chmod" "cp" "cut" "date" "dirname" "basename" "echo" "env" "head" "id" "install" "ln"
    "ls" "mkdir" "mktemp" "mv" "printf" "readlink" "realpath" "rm" "rmdir" "sleep" "sort" "tail"
    "tee" "test" "touch" "tr" "true" "false" "uname" "uniq" "wc"
    "find" "xargs" "diff" "cmp" "sed" "grep" "egrep" "awk" "gawk" "tar" "gzip" "bzip2" "make"
    "patch" "xz" "file"
  ];

  stdenv = {
    hostPlatform = {
      inherit system isDarwin;
      isLinux = !isDarwin;
    };
    # gcc (Linux) or clang (Darwin) from pkgs/development/compilers: cc.cc.lib holds libstdc++.
    cc = {
      isClang = isDarwin;
      cc.lib = stub { name = "gcc-14.3.0-lib"; programs = [ ]; };
    };
  };
in
{
  inherit lib stdenv;

  # pkgs/top-level/all-packages.nix: inherit (pythonInterpreters) python311 ...
  python311 = stub {
    pname = "python3";
    version = "3.11.14";
    programs = [ "python" "python3" "python3.11" "pydoc3" "pydoc3.11" ];
  };

  # pkgs/top-level/all-packages.nix: inherit (postgresqlVersions) postgresql_18 ...
  postgresql_18 = stub {
    pname = "postgresql";
    version = "18.1";
    programs = [
      "postgres" "initdb" "pg_ctl" "pg_isready" "psql" "createdb" "dropdb" "pg_dump" "pg_restore"
    ];
  };

  # pkgs/by-name/va/valkey/package.nix
  valkey = stub {
    pname = "valkey";
    version = "9.0.0";
    programs = [ "valkey-server" "valkey-cli" "valkey-benchmark" "redis-server" "redis-cli" ];
  };

  # pkgs/by-name/pr/process-compose/package.nix
  process-compose = stub {
    pname = "process-compose";
    version = "1.94.0";
    programs = [ "process-compose" ];
  };

  # pkgs/by-name/uv/uv/package.nix
  uv = stub {
    pname = "uv";
    version = "0.9.18";
    programs = [ "uv" "uvx" ];
  };

  # pkgs/by-name/gn/gnumake/package.nix
  gnumake = stub {
    pname = "gnumake";
    version = "4.4.1";
    programs = [ "make" ];
  };

  # pkgs/by-name/wr/wrk/package.nix
  wrk = stub {
    pname = "wrk";
    version = "4.2.0";
    programs = [ "wrk" ];
  };

  # pkgs/build-support/fetchurl: a fixed-output derivation, so a malformed hash fails here too.
  fetchurl =
    { url, hash }:
    derivation {
      name = baseNameOf url;
      inherit system url;
      builder = "/bin/sh";
      outputHashMode = "flat";
      outputHashAlgo = "sha256";
      outputHash = hash;
    };

  # pkgs/build-support/mkshell: `packages` go to nativeBuildInputs; stdenv's tools are on PATH.
  mkShell =
    {
      name ? "nix-shell",
      packages ? [ ],
      nativeBuildInputs ? [ ],
      buildInputs ? [ ],
      shellHook ? "",
      env ? { },
    }:
    stub {
      inherit name shellHook env buildInputs;
      nativeBuildInputs = packages ++ nativeBuildInputs;
      programs = stdenvPrograms;
    }
    // {
      nativeBuildInputs = packages ++ nativeBuildInputs;
      inherit buildInputs;
    };

  # pkgs/build-support/trivial-builders: a checked shell script in $out/bin/<name>.
  writeShellApplication =
    {
      name,
      text,
      runtimeInputs ? [ ],
    }:
    stub {
      inherit name text runtimeInputs;
      programs = [ name ];
    };
}
