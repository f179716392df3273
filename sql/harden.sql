-- The private instance's accounts, made safe before it first listens on TCP
-- (cryptostream/services/mysql_server.py). mariadb-install-db creates root@127.0.0.1, root@::1
-- and root@<hostname> without a password: only root@localhost (the private socket) stays, with
-- the generated password; anonymous accounts go too. mariadb.sys is locked and stays.

-- name: accounts_to_drop
SELECT user, host FROM mysql.user WHERE (user = 'root' AND host <> 'localhost') OR user = '';

-- name: drop_account
DROP USER %s@%s;

-- name: root_password
ALTER USER 'root'@'localhost' IDENTIFIED BY %s;

-- name: shutdown
SHUTDOWN;
