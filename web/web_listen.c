/* web_listen.c: parse a listening address, bind it, and say what it is. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "web_listen.h"

static int listen_unix(const char *path, char *url, size_t url_size, char **ret_unix,
                       struct ocfl_err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd, r;

    if (!*path || strlen(path) >= sizeof(sa.sun_path))
        return ocfl_err_set(err, -EINVAL, "'unix:%s': not a usable socket path", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return ocfl_err_sys(err, -errno, "cannot make a socket");
    /* bind(2) refuses a path that exists: a socket left behind is the user's to remove */
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
        r = -errno;
        close(fd);
        return ocfl_err_sys(err, r, "cannot listen on 'unix:%s'", path);
    }
    if (!(*ret_unix = strdup(path))) {
        close(fd);
        unlink(path);
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    }
    snprintf(url, url_size, "unix:%s", path);
    return fd;
}

/* Split "HOST:PORT", "[V6]:PORT" or "PORT" into @host and @port (both bounded). */
static int split(const char *addr, char *host, size_t hsize, char *port, size_t psize)
{
    const char *colon;

    if (addr[0] == '[') {
        const char *close_br = strchr(addr, ']');
        if (!close_br || close_br[1] != ':' || (size_t)(close_br - addr - 1) >= hsize)
            return -EINVAL;
        memcpy(host, addr + 1, (size_t)(close_br - addr - 1));
        host[close_br - addr - 1] = 0;
        colon = close_br + 1;
    } else if ((colon = strrchr(addr, ':'))) {
        if ((size_t)(colon - addr) >= hsize || colon == addr)
            return -EINVAL;
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = 0;
    } else {
        snprintf(host, hsize, "127.0.0.1");
        colon = addr - 1;
    }
    if (!colon[1] || strlen(colon + 1) >= psize ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1) || atoi(colon + 1) > 65535)
        return -EINVAL;
    snprintf(port, psize, "%s", colon + 1);
    return 0;
}

static int loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return 0;
}

int web_listen(const char *addr, char *url, size_t url_size, int *ret_remote, char **ret_unix,
               struct ocfl_err *err)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *res = NULL;
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    char host[256], port[8], hbuf[NI_MAXHOST], pbuf[NI_MAXSERV];
    int fd = -1, r, one = 1;

    if (!addr)
        addr = "127.0.0.1:8080";
    *ret_unix = NULL;
    if (!strncmp(addr, "unix:", 5)) {
        *ret_remote = 0;
        return listen_unix(addr + 5, url, url_size, ret_unix, err);
    }
    if (split(addr, host, sizeof(host), port, sizeof(port)) < 0)
        return ocfl_err_set(err, -EINVAL,
                            "'%s': not an address to listen on (HOST:PORT, [V6]:PORT, PORT or "
                            "unix:PATH)",
                            addr);
    if ((r = getaddrinfo(host, port, &hints, &res)) != 0)
        return ocfl_err_set(err, -EINVAL, "'%s': %s", addr, gai_strerror(r));
    if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        r = ocfl_err_sys(err, -errno, "'%s': cannot make a socket", addr);
        goto out;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 64) < 0 ||
        getsockname(fd, (struct sockaddr *)&bound, &blen) < 0) {
        r = ocfl_err_sys(err, -errno, "cannot listen on '%s'", addr);
        goto out;
    }
    getnameinfo((struct sockaddr *)&bound, blen, hbuf, sizeof(hbuf), pbuf, sizeof(pbuf),
                NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(url, url_size, bound.ss_family == AF_INET6 ? "http://[%s]:%s/" : "http://%s:%s/", hbuf,
             pbuf);
    *ret_remote = !loopback((struct sockaddr *)&bound);
    r = fd;
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    return r;
}
