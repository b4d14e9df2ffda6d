DROP TABLE orders;
DROP TABLE quick_replies;
DROP TABLE messages;
DROP TABLE uploads;
DROP TABLE conversations;
DROP TABLE users;
