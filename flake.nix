{
  description = "fastapi-stack: the development shell (`nix develop`, then `make dev`)";

  # One nixpkgs revision for every system, pinned in the URL. (The first `nix develop` writes
  # flake.lock with the tarball's hash, which needs GitHub: commit it then.) At this revision
  # nixpkgs has python311, postgresql_18, valkey, uv and process-compose; evaluation stops,
  # naming the package, if one of them is not the project's version.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/005ab72f9cf5a75cdcd9ff672fb4a3b03391619f";

  outputs =
    { self, nixpkgs }:
    let
      # The versions every environment pins (tests/env/pins.py names the files that state
      # them, and tests/env checks that they agree).
      versions = {
        python = "3.11";
        postgres = "18";
        valkey = "9";
        # The oldest that the stack supports (the bootstrap builds this one from the Go module
        # proxy); nixpkgs builds its own from source, so a later one is fine here.
        processCompose = "1.87.0";
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

      toolsFor =
        pkgs:
        let
          inherit (pkgs) lib stdenv;
          inherit (lib.versions) major majorMinor;
          # python311 and postgresql_18 here (their attribute names follow `versions`).
          pythonPackage = pkgs.${"python" + lib.replaceStrings [ "." ] [ "" ] versions.python};
          postgresPackage = pkgs."postgresql_${versions.postgres}";
          python = pinned "Python" versions.python (majorMinor pythonPackage.version) pythonPackage;
          postgres =
            pinned "Postgres" versions.postgres (major postgresPackage.version) postgresPackage;
          valkey = pinned "Valkey" versions.valkey (major pkgs.valkey.version) pkgs.valkey;
          process-compose =
            if lib.versionAtLeast pkgs.process-compose.version versions.processCompose then
              pkgs.process-compose
            else
              throw (
                "flake.nix: nixpkgs gives process-compose ${pkgs.process-compose.version}, the "
                + "project needs ${versions.processCompose} or later: pick another nixpkgs revision"
              );
        in
        {
          packages = [
            python
            pkgs.uv
            postgres
            valkey
            process-compose
            pkgs.gnumake
            pkgs.wrk # part: bench
          ];
          # uv must use the Nix Python and never download one; the locked packages' manylinux
          # wheels (greenlet, debugpy) need libstdc++, which the Nix loader does not seek in /usr.
          # The stack runs the shell's Postgres and Valkey (the lock's wheels do not run on NixOS).
          env = {
            DEV_SERVERS = "path";
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
