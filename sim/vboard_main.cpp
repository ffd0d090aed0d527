// spinemu virtual board: a Verilated board top served on a pseudo-terminal (DESIGN.md section 4).
//
// The design's top module has ports clk, rst (active high, synchronous), uart_rx (serial line into
// the design) and uart_tx (serial line out of it), 8N1, idle high, LSB first, `clocks_per_bit`
// clocks per bit. Bytes a client writes to the pty slave are shifted into uart_rx bit by bit;
// uart_tx is decoded by sampling mid-bit and the bytes are written back to the pty. A client that
// opens the slave with pyserial sees a serial port; only the speed differs.
//
// Built by spinemu.sim.vboard with `verilator --cc --exe --build --prefix Vdesign`, so the model
// class is always Vdesign whatever the top module is called.
//
// Usage: vboard [--clocks-per-bit N] [--link PATH] [--max-cycles N] [--idle-cycles N]
// Prints the pty slave path on one line of stdout, runs until SIGTERM/SIGINT or --max-cycles,
// then prints one line of statistics to stderr and exits 0.

#include <verilated.h>

#include "Vdesign.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) { g_stop = 1; }

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "vboard: %s: %s\n", what.c_str(), std::strerror(errno));
    std::exit(2);
}

[[noreturn]] void usage(const std::string& what) {
    std::fprintf(stderr,
                 "vboard: %s\nusage: vboard [--clocks-per-bit N>=4] [--link PATH] "
                 "[--max-cycles N] [--idle-cycles N]\n",
                 what.c_str());
    std::exit(64);
}

uint64_t parse_count(const char* name, const char* text, uint64_t lo) {
    char* end = nullptr;
    errno = 0;
    unsigned long long value = std::strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || value < lo)
        usage(std::string(name) + " = '" + text + "' is not an integer >= " + std::to_string(lo));
    return value;
}

// 8N1 transmitter driving the design's uart_rx: start bit, 8 data bits LSB first, stop bit.
struct Transmitter {
    unsigned cpb;
    unsigned frame = 0;   // bits still to send, LSB next
    unsigned bits = 0;    // how many of them
    unsigned count = 0;   // clocks left of the current bit
    bool line = true;

    bool busy() const { return bits != 0; }

    // Advance one clock; `next` supplies the next byte (or -1) when a frame ends.
    template <typename Next> void step(Next next) {
        if (bits && --count) return;
        if (bits) {
            frame >>= 1;
            --bits;
        }
        if (!bits) {
            int byte = next();
            if (byte < 0) {
                line = true;
                return;
            }
            frame = (unsigned(byte) << 1) | (1u << 9);
            bits = 10;
        }
        line = frame & 1;
        count = cpb;
    }
};

// 8N1 receiver decoding the design's uart_tx, sampling each bit in its middle.
struct Receiver {
    enum State { IDLE, BITS, WAIT_HIGH };
    unsigned cpb;
    State state = IDLE;
    unsigned count = 0;
    unsigned index = 0;   // 0 = start bit, 1..8 data, 9 stop
    unsigned shift = 0;
    uint64_t framing_errors = 0;
    uint64_t glitches = 0;

    bool busy() const { return state != IDLE; }

    // One clock of `line`; returns a decoded byte or -1.
    int step(bool line) {
        switch (state) {
        case IDLE:
            if (!line) {
                // The edge is on this clock, so the middle of bit k is k*cpb + cpb/2 clocks on.
                state = BITS;
                index = 0;
                count = cpb / 2;
            }
            return -1;
        case WAIT_HIGH:
            if (line) state = IDLE;
            return -1;
        case BITS:
            if (--count) return -1;
            count = cpb;
            if (index == 0) {
                if (line) {
                    ++glitches;
                    state = IDLE;
                }
                index = 1;
                shift = 0;
                return -1;
            }
            if (index <= 8) {
                shift |= unsigned(line) << (index - 1);
                ++index;
                return -1;
            }
            if (!line) {
                ++framing_errors;
                state = WAIT_HIGH;
                return -1;
            }
            state = IDLE;
            return int(shift);
        }
        return -1;
    }
};

struct Pty {
    int master = -1;
    int slave = -1;  // held open so the master never sees a hang-up when clients come and go
    std::string path;
};

Pty open_pty() {
    Pty pty;
    pty.master = posix_openpt(O_RDWR | O_NOCTTY);
    if (pty.master < 0) die("posix_openpt");
    if (grantpt(pty.master) || unlockpt(pty.master)) die("grantpt/unlockpt");
    const char* name = ptsname(pty.master);
    if (!name) die("ptsname");
    pty.path = name;
    pty.slave = open(name, O_RDWR | O_NOCTTY);
    if (pty.slave < 0) die("open " + pty.path);
    termios tio{};
    if (tcgetattr(pty.slave, &tio)) die("tcgetattr");
    cfmakeraw(&tio);  // no echo, no line editing, no CR/LF translation in either direction
    if (tcsetattr(pty.slave, TCSANOW, &tio)) die("tcsetattr");
    int flags = fcntl(pty.master, F_GETFL);
    if (flags < 0 || fcntl(pty.master, F_SETFL, flags | O_NONBLOCK)) die("fcntl O_NONBLOCK");
    return pty;
}

void make_link(const std::string& link, const std::string& target) {
    // Replace an old link atomically; refuse to replace anything that is not a link.
    struct stat st {};
    if (lstat(link.c_str(), &st) == 0 && !S_ISLNK(st.st_mode)) {
        errno = EEXIST;
        die("--link " + link + " exists and is not a symbolic link");
    }
    std::string tmp = link + ".tmp." + std::to_string(getpid());
    unlink(tmp.c_str());
    if (symlink(target.c_str(), tmp.c_str())) die("symlink " + tmp);
    if (rename(tmp.c_str(), link.c_str())) die("rename " + tmp + " to " + link);
}

void remove_link(const std::string& link, const std::string& target) {
    char buf[4096];
    ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
    if (n < 0) return;
    buf[n] = 0;
    if (target == buf) unlink(link.c_str());  // a newer board may have taken the name over
}

}  // namespace

int main(int argc, char** argv) {
    unsigned cpb = 8;
    std::string link;
    uint64_t max_cycles = 0;               // 0: run until a signal
    uint64_t idle_cycles = uint64_t(1) << 24;  // UART silence before sleeping; 0: never sleep
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (i + 1 >= argc) usage("missing value after " + arg);
        const char* value = argv[++i];
        if (arg == "--clocks-per-bit") {
            uint64_t n = parse_count("--clocks-per-bit", value, 4);
            if (n > 1u << 20) usage("--clocks-per-bit = " + std::to_string(n) + " is above 2^20");
            cpb = unsigned(n);
        } else if (arg == "--link") {
            link = value;
        } else if (arg == "--max-cycles") {
            max_cycles = parse_count("--max-cycles", value, 1);
        } else if (arg == "--idle-cycles") {
            idle_cycles = parse_count("--idle-cycles", value, 0);
        } else {
            usage("unknown option " + arg);
        }
    }

    struct sigaction sa {};
    sa.sa_handler = on_signal;  // no SA_RESTART: poll() returns at once on a signal
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    Pty pty = open_pty();
    if (!link.empty()) make_link(link, pty.path);

    auto ctx = std::make_unique<VerilatedContext>();
    auto top = std::make_unique<Vdesign>(ctx.get(), "TOP");

    std::printf("%s\n", pty.path.c_str());
    std::fflush(stdout);

    Transmitter tx{cpb};
    Receiver rx{cpb};
    std::vector<uint8_t> in_buf(1 << 16);  // bytes from the client, not yet shifted in
    size_t in_head = 0, in_tail = 0;
    std::vector<uint8_t> out_buf;          // decoded bytes not yet written to the client
    size_t out_head = 0;
    const size_t out_cap = size_t(1) << 20;  // a client that never reads loses bytes past this
    uint64_t overruns = 0, bytes_in = 0, bytes_out = 0;

    // Check the pty about once per UART byte (at least every 256 clocks: two syscalls a check).
    const uint64_t check_every = std::max<uint64_t>(10 * uint64_t(cpb), 256);
    // While asleep, run this many clocks between polls so the design's clock only crawls.
    const uint64_t sleep_slice = 256;
    const int sleep_ms = 10;

    uint64_t cycle = 0, last_activity = 0, next_check = 0;
    bool asleep = false;
    auto started = std::chrono::steady_clock::now();

    top->clk = 0;
    top->rst = 1;
    top->uart_rx = 1;
    top->eval();
    const unsigned reset_cycles = 4;

    auto next_byte = [&]() -> int {
        if (in_head == in_tail) return -1;
        ++bytes_in;
        return in_buf[in_head++];
    };

    bool finished = false;  // $finish; gotFinish() takes a lock, so it is read at checks only
    while (!g_stop && !finished && (!max_cycles || cycle < max_cycles)) {
        top->clk = 0;
        top->uart_rx = tx.line;
        ctx->timeInc(1);
        top->eval();
        top->clk = 1;
        ctx->timeInc(1);
        top->eval();
        ++cycle;
        if (cycle == reset_cycles) top->rst = 0;

        if (cycle > reset_cycles) {
            bool line = top->uart_tx;
            int byte = rx.step(line);
            if (byte >= 0) {
                if (out_buf.size() - out_head < out_cap) {
                    out_buf.push_back(uint8_t(byte));
                    ++bytes_out;
                } else {
                    ++overruns;
                }
            }
            tx.step(next_byte);
            if (!line || tx.busy() || rx.busy()) last_activity = cycle;
        }

        if (cycle < next_check) continue;
        next_check = cycle + (asleep ? sleep_slice : check_every);
        finished = ctx->gotFinish();

        if (in_head == in_tail) {
            in_head = in_tail = 0;
            ssize_t n = read(pty.master, in_buf.data(), in_buf.size());
            if (n > 0) {
                in_tail = size_t(n);
                last_activity = cycle;
            } else if (n < 0 && errno != EAGAIN && errno != EINTR && errno != EIO) {
                die("read from pty");
            }
        }
        if (out_head < out_buf.size()) {
            ssize_t n = write(pty.master, out_buf.data() + out_head, out_buf.size() - out_head);
            if (n > 0) out_head += size_t(n);
            else if (n < 0 && errno != EAGAIN && errno != EINTR && errno != EIO)
                die("write to pty");
            if (out_head == out_buf.size()) {
                out_buf.clear();
                out_head = 0;
            }
        }

        asleep = idle_cycles && in_head == in_tail && cycle - last_activity >= idle_cycles;
        if (asleep) {
            pollfd pfd{pty.master, short(POLLIN | (out_head < out_buf.size() ? POLLOUT : 0)), 0};
            int ready = poll(&pfd, 1, sleep_ms);
            if (ready > 0 && (pfd.revents & POLLIN)) next_check = cycle;  // read it next clock
        }
    }

    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    double cpu_seconds = double(std::clock()) / CLOCKS_PER_SEC;
    top->final();
    if (!link.empty()) remove_link(link, pty.path);
    using ull = unsigned long long;
    std::fprintf(stderr,
                 "vboard: cycles=%llu seconds=%.3f cpu_seconds=%.3f bytes_in=%llu "
                 "bytes_out=%llu framing_errors=%llu glitches=%llu overruns=%llu\n",
                 ull(cycle), seconds, cpu_seconds, ull(bytes_in), ull(bytes_out),
                 ull(rx.framing_errors), ull(rx.glitches), ull(overruns));
    close(pty.slave);
    close(pty.master);
    return 0;
}
