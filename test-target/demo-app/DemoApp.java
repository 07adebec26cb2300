import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Tiny stand-in for a Spring Boot service, used by the blue/green deploy tests.
 *
 * <p>Behaviour comes from the {@code demo.properties} resource baked into the jar; each key can be
 * overridden with {@code --demo.KEY=VALUE}. {@code --server.port=N} selects the port (default
 * 8080), or, with {@code port-from=env}, the {@code PORT} variable alone, or with {@code port-from=property}
 * the {@code -Ddemo.http.port=N} system property alone. {@code --management.server.port=N} serves the health
 * endpoint there instead of on the traffic port. Any other {@code --x=y} argument is accepted and ignored.
 * Uses the JDK only.
 */
public final class DemoApp {
    private static final Object COUNT_LOCK = new Object();
    private static int inFlight = 0;
    /** When /actuator/health first answered healthy (0: not yet). */
    private static final java.util.concurrent.atomic.AtomicLong FIRST_HEALTHY = new java.util.concurrent.atomic.AtomicLong();
    private static long dieAfterHealthyMs = -1;
    private static long badAfterHealthyMs = -1;

    private DemoApp() {}

    public static void main(String[] args) throws Exception {
        log("args: " + jsonArray(args));
        Map<String, String> env = new TreeMap<>(System.getenv());
        for (Map.Entry<String, String> e : env.entrySet()) {
            if (e.getKey().startsWith("DEMO_")) {
                log("env " + e.getKey() + "=" + e.getValue());
            }
        }

        Properties props = new Properties();
        try (InputStream in = DemoApp.class.getResourceAsStream("/demo.properties")) {
            if (in != null) {
                props.load(new java.io.InputStreamReader(in, StandardCharsets.UTF_8));
            }
        }
        String portText = "8080";
        String managementPort = null;
        for (String arg : args) {
            if (arg.startsWith("--demo.") && arg.indexOf('=') > 0) {
                int eq = arg.indexOf('=');
                props.setProperty(arg.substring("--demo.".length(), eq), arg.substring(eq + 1));
            } else if (arg.startsWith("--server.port=")) {
                portText = arg.substring("--server.port=".length());
            } else if (arg.startsWith("--management.server.port=")) {
                managementPort = arg.substring("--management.server.port=".length());
            }
            // Any other argument is ignored, like Spring Boot ignores unknown properties.
        }

        final String version = props.getProperty("version", "unknown");
        final long startDelayMs = parseLong(props.getProperty("start-delay-ms", "0"), "start-delay-ms");
        final String health = props.getProperty("health", "UP").trim().toUpperCase();
        final boolean crash = Boolean.parseBoolean(props.getProperty("crash", "false").trim());
        final boolean brokenBehindProxy =
                Boolean.parseBoolean(props.getProperty("broken-behind-proxy", "false").trim());
        final long graceMs = parseLong(props.getProperty("shutdown-grace-ms", "10000"), "shutdown-grace-ms");
        dieAfterHealthyMs = parseLong(props.getProperty("die-after-healthy-ms", "-1"), "die-after-healthy-ms");
        badAfterHealthyMs = parseLong(props.getProperty("bad-after-healthy-ms", "-1"), "bad-after-healthy-ms");
        final boolean forkChild = Boolean.parseBoolean(props.getProperty("fork-child", "false").trim());
        final boolean hangOnSigterm = Boolean.parseBoolean(props.getProperty("hang-on-sigterm", "false").trim());
        // Where the port comes from, as different frameworks read it: the argument, PORT, a system property.
        final String portFrom = props.getProperty("port-from", "arg").trim();
        if ("env".equals(portFrom)) {
            portText = String.valueOf(System.getenv("PORT"));
        } else if ("property".equals(portFrom)) {
            portText = String.valueOf(System.getProperty("demo.http.port"));
        }
        final int requestedPort = (int) parseLong(portText, "port (port-from=" + portFrom + ")");
        final String touchFile = props.getProperty("touch-file", "");
        // A build that ignores the port it is given: listens on listen-port (0: any free port) instead.
        final long listenPort = parseLong(props.getProperty("listen-port", "-1"), "listen-port");
        final int bindPort = listenPort >= 0 ? (int) listenPort : requestedPort;

        log("Starting DemoApp version=" + version + " on port " + requestedPort
                + " (start-delay-ms=" + startDelayMs + ", health=" + health + ", crash=" + crash
                + ", broken-behind-proxy=" + brokenBehindProxy + ", shutdown-grace-ms=" + graceMs + ")");

        if (startDelayMs > 0) {
            Thread.sleep(startDelayMs);
        }
        if (crash) {
            System.err.println("ERROR: Application run failed: demo crash requested (crash=true)");
            System.err.flush();
            System.exit(1);
        }

        final HttpServer server;
        try {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", bindPort), 200);
        } catch (BindException e) {
            System.err.println("ERROR: Web server failed to start. Port " + bindPort
                    + " was already in use.");
            System.err.flush();
            System.exit(1);
            return;
        }
        final int port = server.getAddress().getPort();
        final String body = "version=" + version + " port=" + port + "\n";
        // Health on its own port (Spring's management.server.port): the traffic port answers 404 there.
        final HttpServer management =
                managementPort == null ? null : bind((int) parseLong(managementPort, "management.server.port"));
        final boolean healthHere = management == null;
        if (management != null) {
            management.createContext("/", exchange -> {
                try {
                    handle(exchange, body, health, false, true);
                } catch (IOException | RuntimeException e) {
                    log("management request failed: " + e);
                } finally {
                    exchange.close();
                }
            });
            management.start();
            log("Management port " + management.getAddress().getPort());
        }
        if (!touchFile.isEmpty()) {
            // A file named by the deploy: non-ASCII names come out right only under a UTF-8 locale.
            java.nio.file.Files.write(java.nio.file.Paths.get(touchFile), body.getBytes(StandardCharsets.UTF_8));
            log("wrote " + touchFile);
        }

        server.createContext("/", exchange -> {
            enter();
            try {
                handle(exchange, body, health, brokenBehindProxy, healthHere);
            } catch (IOException | RuntimeException e) {
                log("request failed: " + e);
            } finally {
                exchange.close();
                leave();
            }
        });
        ExecutorService executor = Executors.newCachedThreadPool();
        server.setExecutor(executor);
        server.start();

        if (forkChild) {
            // A helper process of the app's own that ignores SIGTERM: only a stop of the whole group ends it.
            Process child = new ProcessBuilder("sh", "-c", "trap '' TERM; exec sleep 600")
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            log("forked child pid " + child.pid());
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (hangOnSigterm) {
                log("Ignoring SIGTERM (hang-on-sigterm=true)");
                try {
                    Thread.sleep(Long.MAX_VALUE);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            shutdown(server, graceMs);
        }, "shutdown"));

        long uptime = ManagementFactory.getRuntimeMXBean().getUptime();
        log("Started DemoApp in " + uptime + " ms (version=" + version + ", port=" + port + ")");
    }

    private static void handle(HttpExchange exchange, String body, String health, boolean brokenBehindProxy,
            boolean serveHealth) throws IOException {
        String method = exchange.getRequestMethod();
        boolean head = "HEAD".equals(method);
        if (!"GET".equals(method) && !head) {
            send(exchange, 405, "text/plain", "method not allowed\n", head);
            return;
        }
        if (brokenBehindProxy && exchange.getRequestHeaders().containsKey("X-Forwarded-For")) {
            send(exchange, 500, "text/plain", "broken behind proxy\n", head);
            return;
        }
        URI uri = exchange.getRequestURI();
        String path = uri.getPath();
        if (!serveHealth && path.equals("/actuator/health")) {
            path = "/not-here";
        }
        switch (path) {
            case "/":
                if (turnedBad()) {
                    send(exchange, 503, "text/plain", "turned bad\n", head);
                    return;
                }
                send(exchange, 200, "text/plain", body, head);
                return;
            case "/slow": {
                long ms = 1000;
                String query = uri.getQuery();
                if (query != null) {
                    for (String part : query.split("&")) {
                        if (part.startsWith("ms=")) {
                            try {
                                ms = Long.parseLong(part.substring(3));
                            } catch (NumberFormatException e) {
                                send(exchange, 400, "text/plain", "bad ms\n", head);
                                return;
                            }
                        }
                    }
                }
                try {
                    Thread.sleep(Math.max(0, ms));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                send(exchange, 200, "text/plain", body, head);
                return;
            }
            case "/actuator/health":
                if ("UP".equals(health) && !turnedBad()) {
                    healthyNow();
                    send(exchange, 200, "application/json", "{\"status\":\"UP\"}", head);
                } else {
                    send(exchange, 503, "application/json", "{\"status\":\"DOWN\"}", head);
                }
                return;
            default:
                send(exchange, 404, "text/plain", "not found\n", head);
        }
    }

    /** The first healthy answer starts the clocks of die-after-healthy-ms and bad-after-healthy-ms. */
    private static void healthyNow() {
        if (!FIRST_HEALTHY.compareAndSet(0, System.currentTimeMillis()) || dieAfterHealthyMs < 0) {
            return;
        }
        Thread killer = new Thread(() -> {
            try {
                Thread.sleep(dieAfterHealthyMs);
            } catch (InterruptedException e) {
                return;
            }
            log("Dying " + dieAfterHealthyMs + " ms after the first healthy answer (die-after-healthy-ms)");
            System.out.flush();
            Runtime.getRuntime().halt(1);
        }, "die-after-healthy");
        killer.setDaemon(true);
        killer.start();
    }

    private static boolean turnedBad() {
        long first = FIRST_HEALTHY.get();
        return badAfterHealthyMs >= 0 && first > 0 && System.currentTimeMillis() - first >= badAfterHealthyMs;
    }

    private static void send(HttpExchange exchange, int status, String type, String text, boolean head)
            throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type + "; charset=utf-8");
        if (head) {
            exchange.sendResponseHeaders(status, -1);
            return;
        }
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static void enter() {
        synchronized (COUNT_LOCK) {
            inFlight++;
        }
    }

    private static void leave() {
        synchronized (COUNT_LOCK) {
            inFlight--;
            COUNT_LOCK.notifyAll();
        }
    }

    /**
     * Runs on SIGTERM/SIGINT: closes the listening socket at once (HttpServer.stop does that before
     * it starts waiting), lets in-flight requests finish for up to graceMs, then exits with status 0.
     * The JDK 17 HttpServer.stop(delay) waits its whole delay even when idle, so it runs in its own
     * thread and this hook waits on its own in-flight counter instead.
     */
    private static void shutdown(HttpServer server, long graceMs) {
        int pending;
        synchronized (COUNT_LOCK) {
            pending = inFlight;
        }
        log("Shutting down (in-flight requests: " + pending + ")");
        int stopDelaySeconds = (int) Math.min(Integer.MAX_VALUE, TimeUnit.MILLISECONDS.toSeconds(graceMs) + 1);
        Thread stopper = new Thread(() -> server.stop(stopDelaySeconds), "http-stop");
        stopper.setDaemon(true);
        stopper.start();
        long deadline = System.currentTimeMillis() + graceMs;
        synchronized (COUNT_LOCK) {
            while (inFlight > 0) {
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) {
                    break;
                }
                try {
                    COUNT_LOCK.wait(left);
                } catch (InterruptedException e) {
                    break;
                }
            }
            pending = inFlight;
        }
        if (pending > 0) {
            log("Grace period of " + graceMs + " ms over, abandoning " + pending + " request(s)");
        }
        log("Stopped");
        System.out.flush();
        System.err.flush();
        Runtime.getRuntime().halt(0);
    }

    /** A second server on 127.0.0.1 (the management port); a port in use ends the app like Spring's would. */
    private static HttpServer bind(int port) throws IOException {
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 50);
            server.setExecutor(Executors.newCachedThreadPool());
            return server;
        } catch (BindException e) {
            System.err.println("ERROR: Management server failed to start. Port " + port + " was already in use.");
            System.err.flush();
            System.exit(1);
            return null;
        }
    }

    private static long parseLong(String text, String what) {
        try {
            return Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            System.err.println("ERROR: invalid " + what + ": " + text);
            System.exit(1);
            return 0;
        }
    }

    private static void log(String line) {
        System.out.println(line);
    }

    /** JSON array of strings, so tests can parse the exact arguments back. */
    private static String jsonArray(String[] values) {
        List<String> parts = new ArrayList<>();
        for (String v : values) {
            StringBuilder sb = new StringBuilder("\"");
            for (int i = 0; i < v.length(); i++) {
                char c = v.charAt(i);
                switch (c) {
                    case '"': sb.append("\\\""); break;
                    case '\\': sb.append("\\\\"); break;
                    case '\n': sb.append("\\n"); break;
                    case '\r': sb.append("\\r"); break;
                    case '\t': sb.append("\\t"); break;
                    default:
                        if (c < 0x20) {
                            sb.append(String.format("\\u%04x", (int) c));
                        } else {
                            sb.append(c);
                        }
                }
            }
            parts.add(sb.append('"').toString());
        }
        return "[" + String.join(", ", parts) + "]";
    }
}
