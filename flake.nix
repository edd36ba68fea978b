{
  description = "fastapi-stack: the development shell (`nix develop`, then `make dev`)";

  # One nixpkgs revision for every system, pinned in the URL. (The first `nix develop` writes
  # flake.lock with the tarball's hash, which needs GitHub: commit it then.) At this revision
  # nixpkgs has python311, postgresql_15, uv and the pinned process-compose.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/005ab72f9cf5a75cdcd9ff672fb4a3b03391619f";

  outputs =
    { self, nixpkgs }:
    let
      # The versions every environment pins: scripts/bootstrap.sh, the Dockerfile,
      # .devcontainer/devcontainer.json and pyproject.toml state the same (tests/env checks).
      versions = {
        python = "3.11";
        postgres = "15";
        redis = "7";
        processCompose = "1.94.0";
      };

      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});

      # The package itself when its (major or major.minor) version is the pinned one; otherwise
      # evaluation stops, naming it: moving the nixpkgs revision cannot change a version unseen.
      pinned =
        name: expected: actual: package:
        if actual == expected then
          package
        else
          throw (
            "flake.nix: nixpkgs gives ${name} ${package.version}, the project pins ${expected}; "
            + "pick another nixpkgs revision or change the pins everywhere (tests/env checks)"
          );

      # nixpkgs moved to Redis 8 before process-compose reached the pinned version, so Redis 7
      # here is the 7.2 release built with nixpkgs' recipe (tarball hash as nixpkgs had it).
      redis7 =
        pkgs:
        let
          inherit (pkgs) lib stdenv;
        in
        if lib.versions.major pkgs.redis.version == versions.redis then
          pkgs.redis
        else
          pkgs.redis.overrideAttrs (old: {
            version = "7.2.6";
            src = pkgs.fetchurl {
              url = "https://download.redis.io/releases/redis-7.2.6.tar.gz";
              hash = "sha256-+xDWei/itFVvbLhABk3W5uMXXOjKA18HJpkOwtqfPQ4=";
            };
            # The 8.x recipe's postPatch and test list name files that 7.2 does not have.
            postPatch = "";
            doCheck = false;
            preBuild = lib.optionalString stdenv.hostPlatform.isDarwin ''
              substituteInPlace src/Makefile --replace-warn "-flto" ""
            '';
            env = (old.env or { }) // lib.optionalAttrs stdenv.cc.isClang {
              NIX_CFLAGS_COMPILE = "-std=c11";
            };
          });

      toolsFor =
        pkgs:
        let
          inherit (pkgs) lib stdenv;
          inherit (lib.versions) major majorMinor;
          # python311 and postgresql_15 here (their attribute names follow `versions`).
          pythonPackage = pkgs.${"python" + lib.replaceStrings [ "." ] [ "" ] versions.python};
          postgresPackage = pkgs."postgresql_${versions.postgres}";
          redisPackage = redis7 pkgs;
          python = pinned "Python" versions.python (majorMinor pythonPackage.version) pythonPackage;
          postgres =
            pinned "Postgres" versions.postgres (major postgresPackage.version) postgresPackage;
          redis = pinned "Redis" versions.redis (major redisPackage.version) redisPackage;
          process-compose =
            pinned "process-compose" versions.processCompose pkgs.process-compose.version
              pkgs.process-compose;
        in
        {
          packages = [
            python
            pkgs.uv
            postgres
            redis
            process-compose
            pkgs.gnumake
            pkgs.wrk # make bench
          ];
          # uv must use the Nix Python and never download one; the locked packages' manylinux
          # wheels (greenlet, debugpy) need libstdc++, which the Nix loader does not seek in /usr.
          env = {
            UV_PYTHON_DOWNLOADS = "never";
            UV_PYTHON = "${python}/bin/python${versions.python}";
          }
          // lib.optionalAttrs stdenv.hostPlatform.isLinux {
            LD_LIBRARY_PATH = lib.makeLibraryPath [ stdenv.cc.cc.lib ];
          };
        };

      exports =
        lib: env:
        lib.concatStringsSep "\n" (
          lib.mapAttrsToList (name: value: "export ${name}=${lib.escapeShellArg value}") env
        );
    in
    {
      devShells = forAllSystems (
        pkgs:
        let
          tools = toolsFor pkgs;
        in
        {
          default = pkgs.mkShell {
            name = "fastapi-stack";
            inherit (tools) packages env;
            shellHook = ''
              if [ -f pyproject.toml ] && [ -f uv.lock ]; then
                echo "nix develop: syncing .venv from uv.lock with $UV_PYTHON"
                uv sync --locked --quiet --compile-bytecode \
                  || echo "nix develop: 'uv sync --locked' failed: is uv.lock up to date?" >&2
                echo "Next: make dev    (the whole stack; 'make help' lists the rest)"
              else
                echo "nix develop: run it from the checkout; then: make dev"
              fi
            '';
          };
        }
      );

      # `nix run` in the checkout: the whole stack, with the dev shell's tools and settings.
      apps = forAllSystems (
        pkgs:
        let
          tools = toolsFor pkgs;
          stack = pkgs.writeShellApplication {
            name = "fastapi-stack-dev";
            runtimeInputs = tools.packages;
            text = ''
              ${exports pkgs.lib tools.env}
              exec make dev
            '';
          };
        in
        {
          default = {
            type = "app";
            program = "${stack}/bin/fastapi-stack-dev";
            meta.description = "Start the dev stack (make dev) with the dev shell's tools";
          };
        }
      );
    };
}
