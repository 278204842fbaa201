"""Start a command under resource limits, as another user if asked:
``python confine.py [limits] -- COMMAND...`` (used by sandbox.Sandbox; run by path, so that it imports
neither the package nor TensorFlow).

Runs inside the sandbox, just before the kernel: it sets the limits on itself, then becomes the
kernel (exec), so the kernel and everything it starts inherit them. Imports nothing heavy.
"""
import argparse
import os
import resource
import sys

MB = 1 << 20


def main(argv=None):
    parser = argparse.ArgumentParser(prog="confine.py")
    parser.add_argument("--as", dest="address_space", type=int, required=True, help="MB per process")
    parser.add_argument("--cpu", type=int, required=True, help="CPU seconds per process")
    parser.add_argument("--fsize", type=int, required=True, help="MB per file written")
    parser.add_argument("--nproc", type=int, required=True, help="processes and threads")
    parser.add_argument("--nofile", type=int, required=True, help="open files")
    parser.add_argument("--uid", type=int, help="run as this user and group id (needs root)")
    parser.add_argument("--mkdir", nargs=2, metavar=("WORKDIR", "HOME"), required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command

    workdir, home = args.mkdir
    for folder in (workdir, home):
        os.makedirs(folder, exist_ok=True)
        if args.uid is not None:
            os.chown(folder, args.uid, args.uid)
    nproc = args.nproc
    if args.uid is None and os.geteuid() != 0:
        # RLIMIT_NPROC counts all processes of the user: leave room for the ones it already has.
        nproc += _processes_of(os.getuid())
    limits = [(resource.RLIMIT_AS, args.address_space * MB), (resource.RLIMIT_CPU, args.cpu),
              (resource.RLIMIT_FSIZE, args.fsize * MB), (resource.RLIMIT_NPROC, nproc),
              (resource.RLIMIT_NOFILE, args.nofile), (resource.RLIMIT_CORE, 0)]
    for which, value in limits:
        resource.setrlimit(which, (value, value))
    if args.uid is not None:
        os.setgroups([])
        os.setgid(args.uid)
        os.setuid(args.uid)
    os.chdir(workdir)
    os.execvp(command[0], command)


def _processes_of(uid):
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                continue
    return count


if __name__ == "__main__":
    sys.exit(main())
